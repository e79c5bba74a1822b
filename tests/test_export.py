"""vaelab export and vaelab.load_pretrained: the exported model gives the run's numbers, without unpickling."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors import safe_open

import vaelab
from vaelab.cli import main
from vaelab.evaluation import log_likelihood, semi_supervised_metrics
from vaelab.pretrained import CONFIG_JSON, WEIGHTS, ExportError, export_run, load_pretrained, read_export
from vaelab.files import DamagedFileError
from vaelab.runs import build_model, load_run, train_run
from tiny_configs import LVAE_TINY, SEMI_TINY, write_config

K = 4


@pytest.fixture(scope="module")
def lvae_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lvae")
    train_run(str(write_config(folder, LVAE_TINY)), folder / "run")
    return folder / "run"


@pytest.fixture(scope="module")
def adgm_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("adgm")
    train_run(str(write_config(folder, SEMI_TINY)), folder / "run")
    return folder / "run"


def _lk(model, x, seed=0):
    torch.manual_seed(seed)
    return log_likelihood(model, x, K, batch_size=50)


def test_lvae_export_gives_the_runs_log_likelihood(lvae_run, tmp_path):
    assert main(["export", str(lvae_run), str(tmp_path / "out")]) == 0
    config, model, splits, state = load_run(lvae_run, "best")
    pretrained = vaelab.load_pretrained(tmp_path / "out")
    assert not pretrained.training
    x = splits.test[:60]
    assert torch.equal(_lk(model, x), _lk(pretrained, x))
    # the batch-norm statistics are those evaluation recomputes over the training data, not the checkpoint's
    bn = {k: v for k, v in pretrained.state_dict().items() if k.endswith("running_mean")}
    assert bn, "the tiny LVAE has batch norm"
    trained = state["model"]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in bn.items())
    assert any(not torch.equal(v, trained[k]) for k, v in bn.items())
    # and a model built afresh from the config (same seed, no weights) gives other numbers
    fresh = build_model(config, x.shape[1]).eval()
    assert not torch.equal(_lk(fresh, x), _lk(pretrained, x))


def test_semi_supervised_export_gives_the_runs_numbers(adgm_run, tmp_path):
    export_run(adgm_run, tmp_path / "out", checkpoint="last")
    config, model, splits, state = load_run(adgm_run, "last")
    pretrained = load_pretrained(tmp_path / "out")
    x, y = splits.test[:60], splits.test_labels[:60]
    torch.manual_seed(1)
    want = semi_supervised_metrics(model, x, y, K, config.eval)
    torch.manual_seed(1)
    have = semi_supervised_metrics(pretrained, x, y, K, config.eval)
    assert have["log_likelihood"] == want["log_likelihood"] and have["error"] == want["error"]
    _, info = read_export(tmp_path / "out")
    assert info["family"] == "adgm" and info["source"]["checkpoint"] == "last"
    assert info["source"]["epoch"] == state["epoch"] == SEMI_TINY["train"]["epochs"]
    assert info["data"]["num_classes"] == 10 and info["vaelab_version"] == vaelab.__version__


def test_loading_unpickles_nothing(lvae_run, tmp_path, monkeypatch):
    export_run(lvae_run, tmp_path / "out")

    def refuse(*args, **kwargs):
        raise AssertionError("load_pretrained unpickled something")

    for module, name in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(module, name, refuse)
    state = load_pretrained(tmp_path / "out").state_dict()
    with safe_open(tmp_path / "out" / WEIGHTS, "pt") as f:
        assert set(state) == set(f.keys())
    assert json.loads((tmp_path / "out" / CONFIG_JSON).read_text())["weights"]["tensors"] == len(state)


def test_a_flipped_byte_is_refused_in_one_line(lvae_run, tmp_path):
    out = export_run(lvae_run, tmp_path / "out")
    weights = out / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the tensor data: the file still parses, the digest does not match
    weights.write_bytes(bytes(data))
    with pytest.raises(DamagedFileError) as err:
        load_pretrained(out)
    assert str(weights) in str(err.value) and "damaged" in str(err.value) and "\n" not in str(err.value)


def test_a_damaged_config_json_is_refused(lvae_run, tmp_path):
    out = export_run(lvae_run, tmp_path / "out")
    (out / CONFIG_JSON).write_text((out / CONFIG_JSON).read_text()[:-40])
    with pytest.raises(ExportError, match="not valid JSON"):
        load_pretrained(out)


def test_a_non_empty_folder_needs_force(lvae_run, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", str(lvae_run), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: ") and "--force" in err and err.count("\n") == 1
    assert not (out / WEIGHTS).exists()
    assert main(["export", str(lvae_run), str(out), "--force", "--checkpoint", "last"]) == 0
    assert (out / "notes.txt").read_text() == "mine"  # --force replaces the export's two files only
    assert read_export(out)[1]["source"]["checkpoint"] == "last"
    load_pretrained(out)


def test_export_refuses_the_run_folder_itself(lvae_run, capsys):
    assert main(["export", str(lvae_run), str(lvae_run), "--force"]) == 2
    assert "run folder" in capsys.readouterr().err
