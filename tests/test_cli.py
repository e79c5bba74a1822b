"""The command line end to end on tiny data: train, interrupt, resume, evaluate, sample; and its errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from vaelab.cli import main
from vaelab.data import write_idx
from vaelab.train import read_metrics

TINY = {
    "data": {"name": "digits", "validation": 50},
    "model": {"family": "lvae", "latent": [4, 2], "hidden": [16, 8]},
    "train": {"epochs": 3, "batch_size": 128, "warmup_epochs": 2, "threads": 1, "progress": False},
    "eval": {"iw_samples": 20, "sample_chunk": 7},
}


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return str(path)


def run_cli(*args):
    return main([str(a) for a in args])


def test_train_evaluate_sample(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli("train", tiny, "--run-dir", run) == 0
    assert [r["epoch"] for r in read_metrics(run / "metrics.jsonl")] == [1, 2, 3]
    assert [r["beta"] for r in read_metrics(run / "metrics.jsonl")] == [0.5, 1.0, 1.0]
    assert run_cli("evaluate", run, "--iw-samples", 30) == 0
    result = json.loads((run / "eval.json").read_text())
    for key in ("split", "n", "iw_samples", "elbo", "elbo_se", "log_likelihood", "log_likelihood_se",
                "kl_per_layer", "active_units"):
        assert key in result
    assert result["n"] == 300 and result["iw_samples"] == 30 and set(result["active_units"]) == {"z1", "z2"}
    assert result["log_likelihood"] > result["elbo"] - 0.5  # L_K >= L_1 up to noise
    assert run_cli("sample", run, "--n", 16) == 0
    assert (run / "samples.png").stat().st_size > 0 and (run / "reconstructions.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "log-likelihood L_30" in out
    # eval settings for one evaluation only; other sections cannot change
    assert run_cli("evaluate", run, "--iw-samples", 30, "--set", "eval.sample_chunk=4", "--set", "eval.device=cpu") == 0
    assert json.loads((run / "eval.json").read_text())["log_likelihood"] == pytest.approx(result["log_likelihood"], abs=0.5)
    assert run_cli("evaluate", run, "--set", "train.epochs=9") == 2
    assert "eval.* settings only" in capsys.readouterr().err


def test_resume_equals_uninterrupted(tiny, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_cli("train", tiny, "--run-dir", full, "--set", "train.epochs=4") == 0
    assert run_cli("train", tiny, "--run-dir", part, "--set", "train.epochs=2") == 0
    (part / "checkpoint.pt.abc.tmp").write_bytes(b"half a checkpoint")  # killed mid-write
    with (part / "metrics.jsonl").open("a") as f:
        f.write('{"epoch": 3, "train_el')  # killed mid-line
    assert run_cli("train", "--resume", part, "--set", "train.epochs=4") == 0
    assert read_metrics(full / "metrics.jsonl") == read_metrics(part / "metrics.jsonl")
    a = torch.load(full / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(part / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not list(part.glob("*.tmp"))


def test_sigkill_at_any_moment_then_resume(tiny, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    sets = ["--set", "train.epochs=6"]
    assert run_cli("train", tiny, "--run-dir", full, *sets) == 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "vaelab.cli", "train", tiny, "--run-dir", str(killed), *sets],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(read_metrics(killed / "metrics.jsonl")) < 2 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= len(read_metrics(killed / "metrics.jsonl")) < 6
    assert run_cli("train", "--resume", killed) == 0
    assert read_metrics(full / "metrics.jsonl") == read_metrics(killed / "metrics.jsonl")


def test_init_from_loads_weights(tiny, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert run_cli("train", tiny, "--run-dir", first, "--set", "train.epochs=1") == 0
    assert run_cli("train", tiny, "--run-dir", second, "--init-from", first, "--set", "train.epochs=1",
                   "--set", "train.lr=1e-9") == 0
    a = torch.load(first / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(second / "checkpoint.pt", weights_only=True)["model"]
    assert torch.allclose(a["generative.decoder.net.0.weight"], b["generative.decoder.net.0.weight"], atol=1e-6)


def _error(capsys, *args) -> str:
    assert run_cli(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vaelab: error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_errors_are_one_line(tiny, tmp_path, capsys):
    run = tmp_path / "run"
    assert "unknown key 'train.epoch'" in _error(capsys, "train", tiny, "--run-dir", run, "--set", "train.epoch=3")
    assert "not of type int" in _error(capsys, "train", tiny, "--run-dir", run, "--set", "train.epochs=many")
    assert "train.epochs = -1" in _error(capsys, "train", tiny, "--run-dir", run, "--set", "train.epochs=-1")
    assert "one hidden size per stochastic layer" in _error(capsys, "train", tiny, "--run-dir", run,
                                                              "--set", "model.latent=[4, 2, 1]")
    assert "does not exist" in _error(capsys, "evaluate", tmp_path / "nowhere")
    assert "not a run folder" in _error(capsys, "train", "--resume", tmp_path)
    assert "--run-dir" in _error(capsys, "train", tiny)
    assert run_cli("train", tiny, "--run-dir", run, "--set", "train.epochs=1") == 0
    assert "already holds a run" in _error(capsys, "train", tiny, "--run-dir", run)
    assert "cannot change a run being resumed" in _error(capsys, "train", "--resume", run, "--set", "train.lr=0.1")


def test_checkpoint_from_another_model(tiny, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("train", tiny, "--run-dir", a, "--set", "train.epochs=1") == 0
    assert run_cli("train", tiny, "--run-dir", b, "--set", "train.epochs=1", "--set", "model.latent=[5, 2]") == 0
    (b / "checkpoint.pt").write_bytes((a / "checkpoint.pt").read_bytes())
    (b / "best.pt").unlink()
    assert "from another model" in _error(capsys, "evaluate", b)
    (b / "checkpoint.pt").write_bytes(b"not a checkpoint")
    assert "cannot be read" in _error(capsys, "evaluate", b)


def test_corrupt_data_files(tmp_path, capsys):
    root = tmp_path / "mnist"
    root.mkdir()
    write_idx(root / "train-images-idx3-ubyte", torch.zeros(60000, 28, 28, dtype=torch.uint8).numpy()[:10])
    for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
        write_idx(root / name, torch.zeros(10, dtype=torch.uint8).numpy())
    (root / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03garbage")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "data": {"name": "mnist", "root": str(root), "download": False}}))
    err = _error(capsys, "train", cfg, "--run-dir", tmp_path / "run")
    assert "ubyte" in err
