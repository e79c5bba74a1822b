"""load_dataset: digits, MNIST-format files through a root, and what it rejects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vaelab.data import LOADERS, DataError, Dataset, load_dataset, read_idx, write_idx
from vaelab.data.sources import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS

from .helpers import N_TEST, N_TRAIN, Places, write_tiny_set

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"


def test_registry_names() -> None:
    assert {"mnist", "fashion-mnist", "digits"} <= set(LOADERS)  # moons, svhn, norb join them


def test_digits() -> None:
    data = load_dataset("digits")
    assert data.name == "digits" and data.image_shape == (8, 8) and data.num_classes == 10
    assert data.x_train.shape == (1497, 64) and data.x_test.shape == (300, 64)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert set(np.unique(data.y_test)) == set(range(10))
    again = load_dataset("digits")
    np.testing.assert_array_equal(again.x_test, data.x_test)
    np.testing.assert_array_equal(again.y_train, data.y_train)


def test_digits_rejects_root(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="digits.*unset data.root"):
        load_dataset("digits", root=tmp_path)


def test_unknown_name() -> None:
    expected = "unknown data set 'cifar'; choose one of: digits, mnist, fashion-mnist"
    with pytest.raises(DataError, match=expected):
        load_dataset("cifar")


@pytest.mark.parametrize("gz", [True, False])
def test_idx_set_from_root(places: Places, gz: bool) -> None:
    root = write_tiny_set(places.tmp / "root", gz=gz)
    suffix = ".gz" if gz else ""
    data = load_dataset("fashion-mnist", root=root, download=False)
    assert data.name == "fashion-mnist" and data.image_shape == (28, 28)
    assert data.x_train.shape == (N_TRAIN, 784) and data.x_test.shape == (N_TEST, 784)
    assert data.x_train.dtype == np.float32 and data.y_test.dtype == np.int64
    images = read_idx(root / f"{TRAIN_IMAGES}{suffix}")
    np.testing.assert_allclose(data.x_train, images.reshape(N_TRAIN, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, read_idx(root / f"{TEST_LABELS}{suffix}"))


def test_image_label_count_mismatch(places: Places) -> None:
    root = write_tiny_set(places.tmp / "root")
    write_idx(root / f"{TEST_LABELS}.gz", np.zeros(N_TEST - 1, dtype=np.uint8))
    pattern = f"{TEST_IMAGES}.gz holds 4 images but .*{TEST_LABELS}.gz holds 3"
    with pytest.raises(DataError, match=pattern):
        load_dataset("mnist", root=root)


def test_unexpected_example_count(places: Places) -> None:
    root = write_tiny_set(places.tmp / "root", n_train=N_TRAIN + 1)
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.gz: holds 7 examples, expected 6"):
        load_dataset("mnist", root=root)


def test_labels_out_of_range(places: Places) -> None:
    root = write_tiny_set(places.tmp / "root")
    write_idx(root / f"{TRAIN_LABELS}.gz", np.full(N_TRAIN, 10, dtype=np.uint8))
    with pytest.raises(DataError, match=f"{TRAIN_LABELS}.gz: labels span 10..10, expected 0..9"):
        load_dataset("mnist", root=root)


def test_wrong_image_shape(places: Places) -> None:
    root = write_tiny_set(places.tmp / "root")
    write_idx(root / f"{TEST_IMAGES}.gz", np.zeros((N_TEST, 8, 8), dtype=np.uint8))
    with pytest.raises(DataError, match=f"{TEST_IMAGES}.gz: holds an array of shape"):
        load_dataset("mnist", root=root)


def test_damaged_file_is_named(places: Places) -> None:
    root = write_tiny_set(places.tmp / "root")
    (root / f"{TRAIN_LABELS}.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DataError, match=f"{TRAIN_LABELS}.gz: corrupt gzip"):
        load_dataset("mnist", root=root)


def test_dataset_checks_its_arrays() -> None:
    x = np.zeros((3, 4), dtype=np.float32)
    y = np.zeros(3, dtype=np.int64)
    Dataset("ok", x, y, x, y, (2, 2), 10)
    with pytest.raises(DataError, match="float32"):
        Dataset("bad", x.astype(np.float64), y, x, y, (2, 2), 10)
    with pytest.raises(DataError, match="int64"):
        Dataset("bad", x, y[:2], x, y, (2, 2), 10)
    with pytest.raises(DataError, match=r"\(N, 9\)"):
        Dataset("bad", x, y, x, y, (3, 3), 10)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no shared MNIST copy beside the repository")
def test_shared_mnist_copy(places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    from vaelab.data import sources
    from vaelab.data.sources import MNIST
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", MNIST)  # the real 60000/10000 counts
    data = load_dataset("mnist", root=SHARED_MNIST, download=False)
    assert data.x_train.shape == (60000, 784) and data.x_test.shape == (10000, 784)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
