"""Labelled subsets, dropped inputs, the half-moons, and the SVHN / small NORB readers on synthetic files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch

from vaelab.data import (DataError, balanced_labelled_subset, drop_inputs, load_dataset, make_splits,
                         read_norb_mat, restore_inputs, select_inputs, split_labelled, two_moons, write_norb_mat)
from vaelab.data import sources
from vaelab.data.norb import FILES as NORB_FILES

SHARED_MNIST = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "mnist"


def test_balanced_subset_is_balanced_disjoint_and_reproducible():
    labels = np.random.default_rng(0).integers(0, 4, 200)
    lab, unl = balanced_labelled_subset(labels, 5, 4, seed=7)
    assert np.bincount(labels[lab], minlength=4).tolist() == [5, 5, 5, 5]
    assert len(np.intersect1d(lab, unl)) == 0 and len(lab) + len(unl) == 200
    again, _ = balanced_labelled_subset(labels, 5, 4, seed=7)
    other, _ = balanced_labelled_subset(labels, 5, 4, seed=8)
    assert np.array_equal(lab, again) and not np.array_equal(lab, other)


def test_labelled_split_and_its_record():
    x, y = torch.rand(30, 3), torch.arange(30) % 3
    split = split_labelled(x, y, 2, 3, seed=1)
    assert split.x_labelled.shape == (6, 3) and split.x_unlabelled.shape == (24, 3)
    assert torch.equal(split.x_labelled, x[torch.from_numpy(split.labelled_index)])
    rec = split.record(2, 1)
    assert rec["n_labelled"] == 6 and rec["labels"] == split.y_labelled.tolist()


def test_spread_choice_places_the_labels_along_each_moon():
    x, y = two_moons(2000, 0.0, seed=1)
    lab, unl = balanced_labelled_subset(y, 3, 2, seed=0, choice="spread", x=x)
    assert np.bincount(y[lab], minlength=2).tolist() == [3, 3] and len(lab) + len(unl) == 2000
    top = x[lab][y[lab] == 0]
    angles = np.sort(np.arctan2(top[:, 1], top[:, 0]))  # position t along the top moon, 0..pi
    assert np.allclose(angles, [np.pi / 6, np.pi / 2, 5 * np.pi / 6], atol=0.25)  # k-means thirds of the arc
    again, _ = balanced_labelled_subset(y, 3, 2, seed=0, choice="spread", x=x)
    assert np.array_equal(lab, again)
    split = split_labelled(torch.from_numpy(x), torch.from_numpy(y), 3, 2, seed=0, choice="spread")
    assert np.array_equal(split.labelled_index, lab) and split.record(3, 0, "spread")["choice"] == "spread"
    with pytest.raises(DataError, match="choose one of: random, spread"):
        balanced_labelled_subset(y, 3, 2, seed=0, choice="nearest")
    with pytest.raises(DataError, match="needs the inputs"):
        balanced_labelled_subset(y, 3, 2, seed=0, choice="spread")


@pytest.mark.parametrize("labels, per_class, message", [
    (np.array([0, 1, 2, 5]), 1, "labels span 0..5 but the model has 3 classes"),
    (np.array([0, -1, 2]), 1, "labels span -1..2"),
    (np.array([0, 0, 1, 1, 2]), 2, "class 2 has only 1 training examples; lower data.labelled_per_class to at most 1"),
    (np.array([0, 1, 2]), 0, "labelled_per_class must be >= 1"),
])
def test_bad_label_requests_are_clear_errors(labels, per_class, message):
    with pytest.raises(DataError) as err:
        balanced_labelled_subset(labels, per_class, 3, seed=0)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_drop_inputs_keeps_informative_inputs_and_restores():
    dataset = load_dataset("digits")
    splits = make_splits(dataset, 10, 0, binarize=True)
    kept = drop_inputs(splits, 0.1)
    mask = kept.input_mask
    assert kept.train.shape[1] == kept.val.shape[1] == kept.test.shape[1] == int(mask.sum()) < 64
    assert torch.all(splits.train[:, ~mask].std(0, unbiased=False) < 0.1)
    back = restore_inputs(kept.train, mask)
    assert torch.equal(back[:, mask], kept.train) and torch.all(back[:, ~mask] == 0)
    assert drop_inputs(splits, 0.0) is splits
    user = select_inputs(np.ones((2, 8, 8)), mask, 64, "file")
    assert user.shape == (2, int(mask.sum()))
    with pytest.raises(DataError, match=r"expected an array of shape \(N, 64\)"):
        select_inputs(np.ones((2, 10)), mask, 64, "file")


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="needs ../shared/datasets/mnist")
def test_mnist_keeps_444_inputs(monkeypatch):
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", sources.MNIST)  # the real counts, not the tiny sets'
    splits = make_splits(load_dataset("mnist", root=SHARED_MNIST), 0, 0, binarize=True)
    assert drop_inputs(splits, 0.1).train.shape[1] == 444


def test_two_moons_follow_the_papers_generator():
    x, y = two_moons(1000, 0.0, seed=3)
    top, bottom = x[y == 0], x[y == 1]
    assert abs(len(top) - len(bottom)) <= 1
    assert np.allclose(np.hypot(top[:, 0], top[:, 1]), 1, atol=1e-5) and np.all(top[:, 1] >= -1e-6)
    assert np.allclose(np.hypot(1 - bottom[:, 0], 0.5 - bottom[:, 1]), 1, atol=1e-5)
    moons = load_dataset("moons")
    assert 0.09 < _radial_noise(moons.x_train, moons.y_train).std() < 0.11  # noise 0.1
    assert moons.x_train.shape == (10000, 2) and moons.x_test.shape == (10000, 2) and not moons.bounded
    assert not np.allclose(moons.x_train[:100], moons.x_test[:100])  # a separate test set
    with pytest.raises(DataError, match="unset data.root"):
        load_dataset("moons", root="/tmp")


def _radial_noise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance of each point from its moon's unit circle (the radial part of the Gaussian noise)."""
    centre = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    return np.linalg.norm(x - centre, axis=1) - 1.0


def _write_svhn(folder: Path, n: dict[str, int]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = {}
    for part, count in n.items():
        y = rng.integers(1, 11, (count, 1)).astype(np.uint8)
        scipy.io.savemat(folder / f"{part}_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, count), dtype=np.uint8), "y": y})
        labels[part] = y.reshape(-1) % 10
    return labels


def test_svhn_reader_on_synthetic_files(tmp_path):
    labels = _write_svhn(tmp_path, {"train": 7, "extra": 5, "test": 4})
    data = load_dataset("svhn", root=tmp_path)
    assert data.x_train.shape == (12, 3072) and data.x_test.shape == (4, 3072) and not data.bounded
    assert data.y_train.tolist() == list(labels["train"]) + list(labels["extra"]) and data.y_train.max() <= 9
    pixels = data.x_train.reshape(12, 3, 32, 32)
    assert np.allclose(pixels.std(axis=(0, 2, 3)), 1.0, atol=0.01)  # each channel divided by its std
    assert load_dataset("svhn-train", root=tmp_path).x_train.shape == (7, 3072)
    (tmp_path / "extra_32x32.mat").unlink()
    with pytest.raises(DataError, match="lacks extra_32x32.mat"):
        load_dataset("svhn", root=tmp_path)


def _write_norb(folder: Path, n: int = 3, gz: bool = False) -> np.ndarray:
    rng = np.random.default_rng(1)
    for split in NORB_FILES:
        dat, cat = NORB_FILES[split]
        write_norb_mat(folder / dat, rng.integers(0, 256, (n, 2, 96, 96), dtype=np.uint8))
        write_norb_mat(folder / cat, rng.integers(0, 5, n).astype(np.int32))
        if gz:
            for name in (dat, cat):
                (folder / f"{name}.gz").write_bytes(gzip.compress((folder / name).read_bytes()))
                (folder / name).unlink()
    return read_norb_mat(folder / (f"{NORB_FILES['training'][0]}.gz" if gz else NORB_FILES["training"][0]))


@pytest.mark.parametrize("gz", [False, True])
def test_norb_reader_on_synthetic_files(tmp_path, gz):
    images = _write_norb(tmp_path, gz=gz)
    assert images.shape == (3, 2, 96, 96)
    data = load_dataset("norb", root=tmp_path)
    assert data.x_train.shape == (3, 2048) and data.image_shape == (2, 32, 32) and data.num_classes == 5
    block = images[0, 1, 3:6, 6:9].mean()  # pixel (1, 2) of the second image of pair 0
    assert block / 256 <= data.x_train[0].reshape(2, 32, 32)[1, 1, 2] < (block + 1) / 256


def test_norb_header_layout_and_damage(tmp_path):
    labels = tmp_path / "cat.mat"
    write_norb_mat(labels, np.arange(4, dtype=np.int32))
    raw = labels.read_bytes()
    assert struct.unpack("<iI3i", raw[:20]) == (0x1E3D4C54, 1, 4, 1, 1)  # 1-D, padded to three dims
    assert read_norb_mat(labels).tolist() == [0, 1, 2, 3]
    labels.write_bytes(raw[:-4])
    with pytest.raises(DataError, match="truncated or damaged"):
        read_norb_mat(labels)
    labels.write_bytes(b"\x00" * 30)
    with pytest.raises(DataError, match="not a NORB binary matrix"):
        read_norb_mat(labels)
