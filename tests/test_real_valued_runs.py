"""The command line on real-valued data: two-stage training, aggregate sampling, uncertainty maps, sample quality,
and the one-line errors for impossible requests and bad data."""

import json

import numpy as np
import pytest

from vaelab.runs import building
from vaelab.cli import main
from vaelab.data import Dataset

CONFIG = """
data: {name: digits, binarize: false, dequantize: true, validation: 50}
model: {family: vae, latent: [4], hidden: [32], batch_norm: true, observation: gaussian_input}
train: {epochs: 3, batch_size: 128, progress: false, variance_switch_max_epochs: 2, threads: 1}
eval: {iw_samples: 5, aggregate_posterior: true, aggregate_components: 4, aggregate_kl_samples: 500, quality_samples: 200,
       classifier_epochs: 1, classifier_dir: CLASSIFIERS}
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.replace("CLASSIFIERS", str(tmp_path / "classifiers")))
    return path


def test_train_evaluate_and_sample_a_two_stage_run(tmp_path, config, capsys):
    run = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run)]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["observation_stage"] for r in records] == [1, 2, 2]
    assert main(["evaluate", str(run), "--limit", "40", "--sample-quality"]) == 0
    result = json.loads((run / "eval.json").read_text())
    agg = result["aggregate_posterior"]
    assert agg["components"] == 4 and agg["kl_aggregate_prior"] > 0 and np.isfinite(agg["log_likelihood"])
    assert set(result["sample_quality"]["fd_classifier"]) == {"prior", "aggregate", "training images"}
    assert "log_likelihood_discrete" in result and "density" in result
    assert (tmp_path / "classifiers" / "digits.pt").is_file() and (run / "aggregate_posterior.npz").is_file()
    assert main(["sample", str(run), "--n", "9", "--from", "aggregate", "--uncertainty"]) == 0
    for name in ("samples-aggregate.png", "reconstructions.png", "uncertainty-samples-aggregate.png",
                 "uncertainty-reconstructions.png"):
        assert (run / name).is_file(), name
    assert "KL(aggregate || prior)" in capsys.readouterr().out


@pytest.mark.parametrize("override, message", [
    ("data.binarize=true", "models real-valued data but data.binarize is true"),
    ("eval.aggregate_covariance=spherical", "eval.aggregate_covariance must be full or diag"),
    ("train.variance_switch_patience=0", "train.variance_switch_patience = 0 is impossible"),
])
def test_impossible_settings_are_one_line_errors(tmp_path, config, capsys, override, message):
    overrides = [override] + (["data.dequantize=false"] if "binarize" in override else [])
    argv = ["train", str(config), "--run-dir", str(tmp_path / "r")] + [a for o in overrides for a in ("--set", o)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error:") and message in err and "Traceback" not in err


@pytest.mark.parametrize("bad, message", [(np.nan, "NaN or infinite"), (1.5, "outside [0, 1]")])
def test_real_valued_data_with_nan_or_outside_unit_interval_is_a_clear_error(tmp_path, config, capsys,
                                                                             monkeypatch, bad, message):
    x = np.random.default_rng(0).random((60, 64), dtype=np.float32)
    x[3, 7] = bad
    y = np.zeros(60, dtype=np.int64)
    dataset = Dataset("digits", x, y, x[:10].copy(), y[:10].copy(), (8, 8), 10)
    monkeypatch.setattr(building, "load_dataset", lambda *a, **k: dataset)
    assert main(["train", str(config), "--run-dir", str(tmp_path / "r"), "--set", "data.dequantize=false"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: digits training set") and message in err


def test_inception_weights_need_sample_quality(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--inception-weights", "x.pt"]) == 2
    assert "goes with --sample-quality" in capsys.readouterr().err
