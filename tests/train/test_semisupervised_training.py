"""Semi-supervised runs through the ordinary commands: train, resume, evaluate, classify, sample, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits

from vaelab.cli import main
from vaelab.runs import classify_run, evaluate_run, sample_run, train_run
from tiny_configs import SEMI_TINY, write_config
from vaelab.train import read_metrics



def _config(tmp_path, **sections):
    """SEMI_TINY with some keys replaced (a value of None removes the key)."""
    return write_config(tmp_path, SEMI_TINY, **sections)


@pytest.mark.parametrize("family", ["m2", "adgm", "sdgm"])
def test_train_evaluate_classify_sample(tmp_path, family):
    run = tmp_path / "run"
    records = train_run(_config(tmp_path, model={"family": family, "auxiliary": None if family == "m2" else 4}), run)
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"val_error", "val_elbo", "train_labelled_error", "train_cross_entropy", "alpha"} <= set(records[-1])
    assert records[-1]["alpha"] == pytest.approx(0.1 * (20 + 1427) / 20)  # eq. 12 with N_l + N_u = 1447
    labelled = json.loads((run / "labelled.json").read_text())
    assert np.bincount(labelled["labels"], minlength=10).tolist() == [2] * 10
    result = evaluate_run(run, progress=False, limit=100)
    confusion = np.array(result["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == result["n"] == 100
    assert result["error"] == pytest.approx(1 - np.trace(confusion) / 100)
    assert result["log_likelihood"] >= result["elbo"] - 1.0  # IW bound with y summed vs -U, noisy at K = 3
    np.save(tmp_path / "x.npy", load_digits().data[:7].reshape(7, 8, 8) / 16)
    out = classify_run(run, tmp_path / "x.npy")
    labels = np.load(out["labels"])
    assert labels.shape == (7,) and labels.max() < 10 and sum(out["counts"]) == 7
    assert np.allclose(np.load(out["probs"]).sum(1), 1, atol=1e-5)
    assert [p.name for p in sample_run(run, n=20)] == ["samples.png", "analogies.png"]


def test_semi_supervised_resume_equals_uninterrupted(tmp_path):
    config = _config(tmp_path, train={"epochs": 3})
    train_run(config, tmp_path / "whole")
    train_run(config, tmp_path / "cut", overrides=["train.epochs=1"])
    train_run(None, tmp_path / "cut", overrides=["train.epochs=3"], resume=True)
    assert read_metrics(tmp_path / "whole" / "metrics.jsonl") == read_metrics(tmp_path / "cut" / "metrics.jsonl")


def test_unsupervised_resume_equals_uninterrupted_after_the_loop_refactor(tmp_path):
    config = _config(tmp_path, data={"labelled_per_class": None},
                     model={"family": "lvae", "latent": [4, 2], "hidden": [16, 8], "classes": None, "auxiliary": None},
                     train={"epochs": 3, "warmup_epochs": 2})
    whole = train_run(config, tmp_path / "whole")
    train_run(config, tmp_path / "cut", overrides=["train.epochs=2"])
    train_run(None, tmp_path / "cut", overrides=["train.epochs=3"], resume=True)
    assert read_metrics(tmp_path / "whole" / "metrics.jsonl") == read_metrics(tmp_path / "cut" / "metrics.jsonl")
    assert [r["beta"] for r in whole] == [0.5, 1.0, 1.0]


@pytest.mark.parametrize("sections, message", [
    ({"data": {"labelled_per_class": 500}}, "lower data.labelled_per_class to at most"),
    ({"data": {"labelled_per_class": 0}}, "set data.labelled_per_class"),
    ({"model": {"classes": 3}}, "model.classes is 3 but digits has 10 classes"),
    ({"train": {"iw_samples": 5}}, "train.iw_samples > 1 is not available"),
    ({"train": {"labelled_batch": 200}}, "train.labelled_batch = 200 is impossible"),
    ({"train": {"batch_weighting": "mean"}}, "train.batch_weighting is 'mean'; choose one of"),
    ({"train": {"label_weights": "mean"}}, "train.label_weights is 'mean'; choose one of"),
])
def test_bad_semi_supervised_settings_are_one_line_errors(tmp_path, capsys, sections, message):
    code = main(["train", str(_config(tmp_path, **sections)), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_label_weights_reach_the_objective(tmp_path):
    """train.label_weights changes training only with several samples of a (identical when eq_samples = 1)."""
    def run(name, **train):
        train_run(_config(tmp_path, train={"epochs": 1, **train}), tmp_path / name)
        return read_metrics(tmp_path / name / "metrics.jsonl")
    assert run("p1") == run("a1", label_weights="averaged")
    p2, a2 = run("p2", eq_samples=2), run("a2", eq_samples=2, label_weights="averaged")
    assert p2[0]["train_cross_entropy"] != a2[0]["train_cross_entropy"]


def test_classify_errors(tmp_path, capsys):
    run = tmp_path / "run"
    train_run(_config(tmp_path, train={"epochs": 1}), run)
    np.save(tmp_path / "wide.npy", np.zeros((3, 65)))
    (tmp_path / "junk.npy").write_text("not numpy")
    for file, message in (("wide.npy", "expected an array of shape (N, 64)"), ("junk.npy", "cannot be read as a .npy"),
                          ("missing.npy", "cannot be read as a .npy")):
        assert main(["classify", str(run), str(tmp_path / file)]) == 2
        assert message in capsys.readouterr().err


def test_moons_is_a_data_set_like_any_other(tmp_path):
    config = _config(tmp_path, data={"name": "moons", "binarize": False, "validation": 100, "labelled_per_class": 3},
                     model={"classes": 2, "observation": "gaussian", "hidden": [8, 8], "latent": 2, "auxiliary": 2},
                     train={"epochs": 1, "batch_size": 1006, "labelled_batch": 6})
    records = train_run(config, tmp_path / "moons")
    assert records[0]["alpha"] == pytest.approx(0.1 * 9900 / 6)
    result = evaluate_run(tmp_path / "moons", progress=False, limit=200)
    assert 0 <= result["error"] <= 1 and len(result["confusion_matrix"]) == 2


def test_auxiliary_vae_trains_like_the_vae_with_warm_up(tmp_path):
    config = _config(tmp_path, data={"labelled_per_class": None},
                     model={"family": "avae", "latent": [4, 2], "auxiliary": [3, 2], "hidden": [16, 8],
                            "classes": None},
                     train={"epochs": 2, "warmup_epochs": 2, "batch_size": 100})
    records = train_run(config, tmp_path / "avae")
    assert [r["beta"] for r in records] == [0.5, 1.0]
    assert set(records[-1]["train_kl_per_layer"]) == {"a1", "z1", "a2", "z2"}
    result = evaluate_run(tmp_path / "avae", iw_samples=5, limit=50, progress=False)
    assert result["log_likelihood"] > result["elbo"] - 1.0 and "a1" in result["active_units"]
