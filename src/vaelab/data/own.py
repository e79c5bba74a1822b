"""What the two sources of one's own data share (data.name npz and images): the request, the test split, labels.

A test split that the files do not provide is carved off by one fixed rule: a permutation seeded with
OWN_TEST_SEED (not train.seed, so every run of a file sees the same test set) sends the first
round(test_fraction * N) examples to test and the rest to training. The validation split is then held out
of the training part by the same rule as for every data set (data.validation, seeded by train.seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.data.errors import DataError

OWN_TEST_SEED = 20160523  # fixed: the carved test split depends on the file alone
OWN_TEST_FRACTION = 0.1  # default share of the examples carved off as test when the files hold no test split
UNLABELLED = -1  # the label of every example of unlabelled data (num_classes 0)


@dataclass(frozen=True)
class OwnData:
    """Where one's own data lie and how to read them (data.path, data.image_size, data.test_fraction)."""

    path: Path
    image_size: tuple[int, int] | None = None  # resize every image to (H, W); None keeps the stored sizes
    test_fraction: float = OWN_TEST_FRACTION


def carve_test(x: np.ndarray, y: np.ndarray, fraction: float, where: Path) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): round(fraction * N) examples to test by the OWN_TEST_SEED permutation."""
    n = len(x)
    size = int(round(fraction * n))
    if not 0 < size < n:
        raise DataError(f"{where}: holds {n} examples, too few to carve a test split of {fraction:g} of them; "
                        f"add more examples, provide a test split (see docs/guides/own-data.md) or change "
                        f"data.test_fraction")
    order = np.random.default_rng(OWN_TEST_SEED).permutation(n)
    test, train = np.sort(order[:size]), np.sort(order[size:])
    return x[train], y[train], x[test], y[test]


def check_own_labels(y: Any, n: int, where: Path, what: str) -> np.ndarray:
    """Labels as int64 (n,): DataError naming `where` and the array `what` unless they are n integers >= 0."""
    y = np.asarray(y)
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise DataError(f"{where}: {what} must hold integer class labels, got dtype {y.dtype}; "
                        f"save labels as integers 0..C-1")
    if y.shape != (n,):
        raise DataError(f"{where}: {what} has shape {y.shape} but there are {n} examples; "
                        f"give one label per example, shape ({n},)")
    if n and y.min() < 0:
        raise DataError(f"{where}: {what} holds the label {y.min()}; labels must be classes 0..C-1")
    return y.astype(np.int64)


def check_test_classes(y_train: np.ndarray, y_test: np.ndarray, classes: int, where: Path) -> None:
    """DataError unless every label of both splits lies in 0..classes-1."""
    for what, y in (("training", y_train), ("test", y_test)):
        if len(y) and y.max() >= classes:
            raise DataError(f"{where}: the {what} labels reach {y.max()} but there are {classes} classes "
                            f"(0..{classes - 1}); fix the labels or the class list")


def check_finite(x: np.ndarray, where: Path, what: str) -> None:
    """DataError naming the file and array if x holds NaN or infinite values."""
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise DataError(f"{where}: {what} holds {bad} NaN or infinite values; fix or drop those examples")


def is_unit_interval(*arrays: np.ndarray) -> bool:
    """True when every value of every array lies in [0, 1]."""
    return all(a.size == 0 or (a.min() >= 0 and a.max() <= 1) for a in arrays)
