"""Train / validation / test splits as the training loop consumes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaelab.data.binarize import binarize_fixed
from vaelab.data.checks import check_real_valued
from vaelab.data.datasets import Dataset
from vaelab.data.dequantize import add_uniform_noise_fixed
from vaelab.data.errors import DataError

# Offsets from the split seed for the one-off binarisation of the held-out sets, so validation and
# test draws are independent of each other and of the permutation.
VALIDATION_BINARIZE_OFFSET = 1
TEST_BINARIZE_OFFSET = 2
VALIDATION_NOISE_OFFSET, TEST_NOISE_OFFSET = 3, 4  # the same for the uniform noise of Dataset.noise_width


def split_validation(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out `size` of `n` examples by a seeded permutation; return (train_idx, val_idx).

    Both are sorted int64 index arrays, disjoint, together covering range(n). size 0 is allowed.
    """
    if size < 0 or size >= n:
        raise DataError(
            f"validation size {size} must be at least 0 and below the {n} training examples; "
            f"lower data.validation"
        )
    permutation = np.random.default_rng(seed).permutation(n)
    return np.sort(permutation[size:]), np.sort(permutation[:size])


@dataclass(eq=False)  # tensors have no single truth value for ==
class Splits:
    """Tensors for the training loop: images float32 (N, D), labels int64 (N,).

    If binarize is True, `train` holds grey levels that the loop must binarise afresh every epoch
    (binarize_dynamic), while `val` and `test` are already binarised once with a fixed seed.
    """

    train: torch.Tensor
    train_labels: torch.Tensor
    val: torch.Tensor
    val_labels: torch.Tensor
    test: torch.Tensor
    test_labels: torch.Tensor
    image_shape: tuple[int, ...]
    num_classes: int
    binarize: bool
    input_mask: torch.Tensor | None = None  # (prod(image_shape),) bool: the inputs kept (see data.pixels)
    noise_width: torch.Tensor | None = None  # (D,): train gets fresh U[0,1) * noise_width every epoch (val, test once)
    val_grey: torch.Tensor | None = None  # (V, D): when binarize, the grey levels behind val (eval.classify_inputs)
    test_grey: torch.Tensor | None = None  # (M, D): the same for test
    class_names: tuple[str, ...] = ()  # name of each class 0..C-1 where the data set gives them


def make_splits(dataset: Dataset, validation: int, seed: int, binarize: bool) -> Splits:
    """Hold out `validation` training examples (never trained on) and package everything as tensors.

    The split uses split_validation(seed); if binarize, validation is binarised with seed + 1 and
    test with seed + 2, once; train stays as grey levels. A data set with a noise_width (SVHN, NORB) has its
    uniform noise added to validation (seed + 3) and test (seed + 4) once; train stays noise-free.
    """
    unit = dataset.bounded or binarize  # binarisation reads every value as a probability
    check_real_valued(dataset.x_train, f"{dataset.name} training set", unit)
    check_real_valued(dataset.x_test, f"{dataset.name} test set", unit)
    train_idx, val_idx = split_validation(len(dataset.x_train), validation, seed)
    # Fancy indexing and torch.tensor copy, so the splits never alias the Dataset's arrays.
    val = torch.from_numpy(dataset.x_train[val_idx])  # (V, D)
    test = torch.tensor(dataset.x_test)  # (M, D)
    val_grey, test_grey = (val, test) if binarize else (None, None)
    if binarize:
        val = binarize_fixed(val, seed + VALIDATION_BINARIZE_OFFSET)
        test = binarize_fixed(test, seed + TEST_BINARIZE_OFFSET)
    width = None if dataset.noise_width is None else torch.tensor(dataset.noise_width)
    if width is not None:
        val = add_uniform_noise_fixed(val, width, seed + VALIDATION_NOISE_OFFSET)
        test = add_uniform_noise_fixed(test, width, seed + TEST_NOISE_OFFSET)
    return Splits(
        train=torch.from_numpy(dataset.x_train[train_idx]),
        train_labels=torch.from_numpy(dataset.y_train[train_idx]),
        val=val,
        val_labels=torch.from_numpy(dataset.y_train[val_idx]),
        test=test,
        test_labels=torch.tensor(dataset.y_test),
        image_shape=tuple(dataset.image_shape),
        num_classes=dataset.num_classes,
        binarize=binarize,
        noise_width=width,
        val_grey=val_grey,
        test_grey=test_grey,
        class_names=dataset.class_names,
    )
