"""SVHN / NORB uniform dequantisation: noise-free loaders, fresh noise every epoch, reproducible on resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from vaelab.data import DataError, load_dataset, make_splits, write_norb_mat
from vaelab.data.norb import FILES as NORB_FILES
from vaelab.runs import train_run
from vaelab.train import semisupervised


def _write_norb(folder, n: int = 20) -> None:
    rng = np.random.default_rng(5)
    for dat, cat in NORB_FILES.values():
        write_norb_mat(folder / dat, rng.integers(0, 256, (n, 2, 96, 96), dtype=np.uint8))
        write_norb_mat(folder / cat, (np.arange(n) % 5).astype(np.int32))


def test_norb_is_loaded_noise_free_and_held_out_sets_get_noise_once(tmp_path):
    _write_norb(tmp_path)
    data = load_dataset("norb", root=tmp_path)
    assert np.allclose(data.x_train * 256 * 9, np.round(data.x_train * 256 * 9), atol=1e-3)  # means of 9 pixels
    assert data.noise_width.shape == (2048,) and np.all(data.noise_width == np.float32(1 / 256))
    splits = make_splits(data, 4, 0, binarize=False)
    again = make_splits(data, 4, 0, binarize=False)
    clean_test = torch.from_numpy(data.x_test)
    noise = (splits.test - clean_test) * 256
    assert 0 <= float(noise.min()) and float(noise.max()) < 1 and float(noise.std()) > 0.2  # U[0, 1) grey levels
    assert torch.equal(splits.test, again.test) and torch.equal(splits.val, again.val)  # seeded
    levels = splits.train * 256 * 9
    assert torch.allclose(levels, torch.round(levels), atol=1e-3)  # the training split stays noise-free


def _record_inputs(monkeypatch) -> list[torch.Tensor]:
    """Every unlabelled batch handed to the objective, in order."""
    seen: list[torch.Tensor] = []
    real = semisupervised.semi_supervised_objective

    def spy(model, x_l, y, x_u, *args, **kwargs):
        seen.append(x_u.clone())
        return real(model, x_l, y, x_u, *args, **kwargs)

    monkeypatch.setattr(semisupervised, "semi_supervised_objective", spy)
    return seen


def test_training_noise_is_fresh_every_epoch_and_repeats_on_resume(tmp_path, monkeypatch):
    _write_norb(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"name": "norb", "root": str(tmp_path), "binarize": False, "validation": 2, "labelled_per_class": 1},
        "model": {"family": "adgm", "classes": 5, "latent": 2, "auxiliary": 2, "hidden": [8],
                  "observation": "gaussian"},
        "train": {"epochs": 2, "batch_size": 40, "labelled_batch": 5, "progress": False, "seed": 1, "threads": 1},
        "eval": {"classify_samples": 1}}))
    seen = _record_inputs(monkeypatch)
    train_run(config, tmp_path / "whole")
    assert len(seen) == 2  # one batch of the 13 unlabelled examples per epoch
    first, second = (torch.sort(b, 0).values for b in seen)  # the same examples, in another order
    assert not torch.allclose(first, second)  # noise drawn anew
    assert float((first - second).abs().max()) < 1 / 256  # ... but within one grey level of the same pixels
    seen.clear()
    train_run(config, tmp_path / "cut", overrides=["train.epochs=1"])
    train_run(None, tmp_path / "cut", overrides=["train.epochs=2"], resume=True)
    assert len(seen) == 2
    assert torch.equal(torch.sort(seen[1], 0).values, second)  # the resumed epoch 2 saw the same noise


def test_dequantize_option_is_refused_for_norb(tmp_path):
    _write_norb(tmp_path)
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"data": {"name": "norb", "root": str(tmp_path), "binarize": False,
                                               "dequantize": True, "labelled_per_class": 1, "validation": 2},
                                      "model": {"family": "adgm", "classes": 5, "observation": "gaussian"}}))
    with pytest.raises(DataError, match="set data.dequantize: false"):  # NORB brings its own noise
        train_run(config, tmp_path / "run")
