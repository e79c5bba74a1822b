"""The options of the ADGM authors' code through the ordinary commands: resume, grey-level errors, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.runs import classification as run_classification
from vaelab.cli import main
from vaelab.data import balanced_labelled_subset, two_moons
from vaelab.data.moons import MOON_LABEL_POINTS
from vaelab.evaluation import classification
from vaelab.runs import classify_run, evaluate_run, load_run, train_run
from tiny_configs import SEMI_TINY, write_config
from vaelab.train import read_metrics
from vaelab.train import semisupervised as task



def _config(tmp_path, **sections):
    """SEMI_TINY with some keys replaced (a value of None removes the key)."""
    return write_config(tmp_path, SEMI_TINY, **sections)


def test_per_step_binarisation_and_sorted_order_resume_exactly(tmp_path):
    config = _config(tmp_path, data={"binarize_every": "step"}, train={"epochs": 2, "unlabelled_order": "sorted"})
    train_run(config, tmp_path / "whole")
    train_run(config, tmp_path / "cut", overrides=["train.epochs=1"])
    train_run(None, tmp_path / "cut", overrides=["train.epochs=2"], resume=True)
    whole = read_metrics(tmp_path / "whole" / "metrics.jsonl")
    assert whole == read_metrics(tmp_path / "cut" / "metrics.jsonl")
    assert whole != read_metrics(_trained(tmp_path, "default", epochs=2))


def _trained(tmp_path, name, **train):
    train_run(_config(tmp_path, train=train), tmp_path / name)
    return tmp_path / name / "metrics.jsonl"


def _spy(monkeypatch, module):
    """Record the inputs every class_probabilities call of `module` receives."""
    seen, real = [], module.class_probabilities

    def spy(model, x, *args, **kw):
        seen.append(x.clone())
        return real(model, x, *args, **kw)

    monkeypatch.setattr(module, "class_probabilities", spy)
    return seen


def test_grey_inputs_reach_the_validation_test_and_classify_errors(tmp_path, monkeypatch):
    val_seen = _spy(monkeypatch, task)
    train_run(_config(tmp_path, train={"epochs": 1}, eval={"classify_inputs": "grey"}), tmp_path / "run")
    _, _, splits, _ = load_run(tmp_path / "run")
    assert torch.equal(val_seen[-1], splits.val_grey) and not torch.equal(splits.val_grey, splits.val)
    test_seen = _spy(monkeypatch, classification)
    grey = evaluate_run(tmp_path / "run", progress=False, limit=60)
    assert torch.equal(test_seen[-1], splits.test_grey[:60]) and grey["classify_inputs"] == "grey"
    binary = evaluate_run(tmp_path / "run", progress=False, limit=60, overrides=["eval.classify_inputs=binarised"])
    assert torch.equal(test_seen[-1], splits.test[:60]) and binary["classify_inputs"] == "binarised"
    classify_seen = _spy(monkeypatch, run_classification)
    x = np.linspace(0, 1, 5 * 64, dtype=np.float32).reshape(5, 64)
    np.save(tmp_path / "x.npy", x)
    classify_run(tmp_path / "run", tmp_path / "x.npy")
    assert np.allclose(classify_seen[-1].numpy(), x)  # grey levels, not binarised


def test_moon_points_pick_the_nearest_training_point_of_each_class():
    x, y = two_moons(3000, 0.1, seed=2)
    lab, _ = balanced_labelled_subset(y, 3, 2, seed=0, choice="moon_points", x=x)
    for cls, targets in MOON_LABEL_POINTS.items():
        own = np.flatnonzero(y == cls)
        picked = lab[y[lab] == cls]
        nearest = [own[((x[own] - np.array(t)) ** 2).sum(1).argmin()] for t in targets]
        assert sorted(picked.tolist()) == sorted(nearest)
        gaps = np.hypot(*(x[picked][None] - np.array(targets)[:, None]).transpose(2, 0, 1)).min(1)
        assert gaps.max() < 0.2  # a picked point on each end and the apex
    # the top moon (class 0) is centred at the origin, the bottom one (class 1) at (1, 0.5): each target is on its own
    top, bottom = np.array(MOON_LABEL_POINTS[0]), np.array(MOON_LABEL_POINTS[1])
    assert np.allclose(np.hypot(*top.T), 1) and np.allclose(np.hypot(*(bottom - [1, 0.5]).T), 1)


@pytest.mark.parametrize("sections, message", [
    ({"data": {"binarize_every": "batch"}}, "data.binarize_every must be one of epoch, step"),
    ({"data": {"binarize_every": "step", "binarize": False}}, "data.binarize_every step re-binarises"),
    ({"data": {"unlabelled_set": "some"}}, "data.unlabelled_set must be one of rest, all"),
    ({"data": {"labelled_choice": "moon_points"}}, "moon_points places labels on the half-moons"),
    ({"train": {"unlabelled_order": "random"}}, "train.unlabelled_order must be one of shuffled, sorted"),
    ({"eval": {"classify_inputs": "gray"}}, "eval.classify_inputs must be one of binarised, grey"),
    ({"train": {"freeze": ["q_a"]}}, "train.freeze: 'q_a' is not a submodule of this model; choose among inference,"),
    ({"train": {"grad_clip_value": -1}}, "train.grad_clip_value = -1.0 is impossible"),
    ({"train": {"weight_prior": -0.1}}, "train.weight_prior = -0.1 is impossible"),
    ({"data": {"name": "moons", "binarize": False, "labelled_per_class": 2, "labelled_choice": "moon_points"},
      "model": {"classes": 2, "observation": "gaussian"}}, "moon_points places 3 labels per class"),
    ({"data": {"labelled_per_class": None, "binarize_every": "step"},
      "model": {"family": "vae", "latent": [2], "hidden": [8], "classes": None, "auxiliary": None}},
     "data.binarize_every is for the semi-supervised families"),
])
def test_bad_values_are_one_line_errors(tmp_path, capsys, sections, message):
    code = main(["train", str(_config(tmp_path, **sections)), "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_the_authors_log_preset_sets_every_option():
    from vaelab.config import load_config
    c = load_config("configs/adgm/mnist-100-authors-log.yaml")
    d, m, t, e = c.data, c.model.params, c.train, c.eval
    assert (d.binarize_every, d.validation, d.drop_std, d.unlabelled_set) == ("step", 0, 0.0, "all")
    assert (m.aux_prior, m.q_z_reads_a, m.init, m.hidden) == ("standard_normal", False, "authors", (500, 500))
    assert t.weight_prior == pytest.approx(1 / 120000) and (t.grad_clip, t.grad_clip_value) == (5.0, 1.0)
    assert t.classification_weight * 60000 / 100 == 1200 and t.eq_samples == 10 and t.batch_size == 200
    assert (t.freeze, t.label_weights, t.unlabelled_order) == (("inference.q_a", "inference.q_a_head"), "authors",
                                                               "sorted")
    assert (t.lr, t.lr_decay, t.lr_decay_every) == (3e-4, 0.75, 200)
    assert (e.classify_inputs, e.classify_samples) == ("grey", 1)
