"""Validation split, binarisation, the Splits the training loop consumes, and range checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaelab.data import (
    DataError,
    Dataset,
    binarize_dynamic,
    binarize_fixed,
    check_real_valued,
    make_splits,
    split_validation,
)


def test_split_validation_reproducible_and_disjoint() -> None:
    train, val = split_validation(100, 20, seed=7)
    again_train, again_val = split_validation(100, 20, seed=7)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(val, again_val)
    assert len(val) == 20 and len(train) == 80
    assert not set(train) & set(val)
    assert sorted(np.concatenate([train, val])) == list(range(100))
    assert not np.array_equal(val, split_validation(100, 20, seed=8)[1])


def test_split_validation_sizes() -> None:
    train, val = split_validation(10, 0, seed=0)
    assert len(val) == 0 and list(train) == list(range(10))
    for size in (10, 11, -1):
        with pytest.raises(DataError, match=f"validation size {size}"):
            split_validation(10, size, seed=0)


def test_binarize_fixed_reproducible() -> None:
    x = np.full((200, 50), 0.3, dtype=np.float32)
    first, second = binarize_fixed(x, seed=5), binarize_fixed(torch.from_numpy(x), seed=5)
    assert first.dtype == torch.float32 and first.shape == (200, 50)
    assert torch.equal(first, second)
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert abs(first.mean().item() - 0.3) < 0.02
    assert not torch.equal(first, binarize_fixed(x, seed=6))


def test_binarize_extremes_and_range() -> None:
    x = torch.tensor([[0.0, 1.0, 0.0, 1.0]])
    assert torch.equal(binarize_fixed(x, seed=0), x)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        binarize_fixed(np.array([[1.5]]), seed=0)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        binarize_dynamic(torch.tensor([[float("nan")]]), torch.Generator().manual_seed(0))


def test_binarize_dynamic_differs_between_generator_states() -> None:
    x = torch.full((100, 100), 0.5)
    generator = torch.Generator().manual_seed(0)
    epoch_one, epoch_two = binarize_dynamic(x, generator), binarize_dynamic(x, generator)
    assert not torch.equal(epoch_one, epoch_two)
    replay = torch.Generator().manual_seed(0)
    assert torch.equal(binarize_dynamic(x, replay), epoch_one)


def _dataset(n_train: int = 50, n_test: int = 20, width: int = 16) -> Dataset:
    """Grey-level data whose labels are the example ids, so splits can be traced."""
    rng = np.random.default_rng(0)
    return Dataset(
        "toy",
        rng.random((n_train, width), dtype=np.float32),
        np.arange(n_train, dtype=np.int64),
        rng.random((n_test, width), dtype=np.float32),
        np.arange(n_test, dtype=np.int64),
        (4, 4),
        10,
    )


@pytest.mark.parametrize("binarize", [False, True])
def test_make_splits_shapes_and_disjoint(binarize: bool) -> None:
    data = _dataset()
    splits = make_splits(data, validation=10, seed=3, binarize=binarize)
    assert splits.train.shape == (40, 16) and splits.val.shape == (10, 16)
    assert splits.test.shape == (20, 16) and splits.test_labels.shape == (20,)
    for tensor in (splits.train, splits.val, splits.test):
        assert tensor.dtype == torch.float32
    assert splits.train_labels.dtype == torch.int64
    assert splits.image_shape == (4, 4) and splits.num_classes == 10 and splits.binarize == binarize
    train_ids, val_ids = set(splits.train_labels.tolist()), set(splits.val_labels.tolist())
    assert not train_ids & val_ids and train_ids | val_ids == set(range(50))
    # train always holds the original grey levels of its examples
    np.testing.assert_array_equal(splits.train.numpy(), data.x_train[splits.train_labels.numpy()])


def test_make_splits_binarises_held_out_sets_once() -> None:
    data = _dataset()
    splits = make_splits(data, validation=10, seed=3, binarize=True)
    assert set(splits.val.unique().tolist()) <= {0.0, 1.0}
    assert set(splits.test.unique().tolist()) <= {0.0, 1.0}
    expected_val = binarize_fixed(data.x_train[splits.val_labels.numpy()], seed=4)
    assert torch.equal(splits.val, expected_val)
    assert torch.equal(splits.test, binarize_fixed(data.x_test, seed=5))
    again = make_splits(data, validation=10, seed=3, binarize=True)
    assert torch.equal(again.val, splits.val) and torch.equal(again.test, splits.test)


def test_make_splits_without_validation_and_no_aliasing() -> None:
    data = _dataset()
    splits = make_splits(data, validation=0, seed=0, binarize=False)
    assert splits.val.shape == (0, 16) and splits.train.shape == (50, 16)
    splits.test += 1.0
    assert data.x_test.max() <= 1.0


def test_make_splits_rejects_bad_values() -> None:
    data = _dataset()
    data.x_test[0, 0] = np.nan
    with pytest.raises(DataError, match="toy test set"):
        make_splits(data, validation=5, seed=0, binarize=True)


def test_check_real_valued() -> None:
    check_real_valued(np.array([[0.0, 0.5, 1.0]]), "fine")
    check_real_valued(np.zeros((0, 3)), "empty")
    for bad, pattern in [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite"),
                         (1.5, "outside"), (-0.1, "outside")]:
        with pytest.raises(DataError, match=f"my-data: .*{pattern}"):
            check_real_valued(np.array([0.2, bad]), "my-data")
