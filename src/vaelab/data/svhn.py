"""SVHN (cropped digits, .mat files read with scipy.io) as in ADGM section 3.

Files: train_32x32.mat, test_32x32.mat and, for `svhn` (train + extra = 604,388 examples, the paper's
setting), extra_32x32.mat; `svhn-train` leaves the extra set out (the paper's 29.82% variant). Each holds X of
shape (32, 32, 3, N) uint8 and y of shape (N, 1) with digit 0 stored as 10. Inputs: uniform noise in [0, 1)
added to the pixel values, then divided by the training set's standard deviation of each
colour channel; flattened channel-first to 3072 values. The noise is not added here: the Dataset keeps the
pixels / std and the size of one grey level (noise_width = 1 / std of the channel), and the training split gets
fresh noise every epoch, validation and test once with fixed seeds (data.splits, train.semisupervised).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from vaelab.data.errors import DataError
from vaelab.data.files import find_files

SOURCE = "http://ufldl.stanford.edu/housenumbers/"


def read_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(pixels uint8 (N, 3, 32, 32), labels int64 (N,) in 0..9) from one SVHN .mat file."""
    try:
        mat = scipy.io.loadmat(path)
    except Exception as err:  # noqa: BLE001 - scipy raises several types for a bad file
        raise DataError(f"{path}: not a readable SVHN .mat file ({type(err).__name__}); download it again") from None
    if "X" not in mat or "y" not in mat:
        raise DataError(f"{path}: an SVHN .mat file holds arrays X and y; this one has {sorted(k for k in mat if not k.startswith('__'))}")
    x, y = mat["X"], mat["y"].reshape(-1).astype(np.int64)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.shape[0]:
        raise DataError(f"{path}: X has shape {x.shape} and y {mat['y'].shape}; expected (32, 32, 3, N) and (N, 1)")
    if y.size and (y.min() < 1 or y.max() > 10):
        raise DataError(f"{path}: labels span {y.min()}..{y.max()}, expected 1..10 (10 stands for digit 0)")
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)), y % 10


def channel_std(pixels: np.ndarray, chunk: int = 10_000) -> np.ndarray:
    """Standard deviation of each colour channel of uint8 images (N, C, H, W), (1, C, 1, 1) float32.

    Accumulated in float64 over chunks, so no float copy of the whole training set is made.
    """
    total = np.zeros(pixels.shape[1])
    squares = np.zeros(pixels.shape[1])
    for start in range(0, len(pixels), chunk):
        block = pixels[start:start + chunk].astype(np.float64)
        total += block.sum(axis=(0, 2, 3))
        squares += (block ** 2).sum(axis=(0, 2, 3))
    count = len(pixels) * pixels.shape[2] * pixels.shape[3]
    var = squares / count - (total / count) ** 2
    return np.sqrt(np.maximum(var, 0.0)).astype(np.float32).reshape(1, -1, 1, 1)


def load_svhn(root: str | Path | None, download: bool, extra: bool = True) -> dict[str, Any]:
    """The fields of the `svhn` (extra=True) or `svhn-train` Dataset."""
    parts = ["train_32x32.mat", *(["extra_32x32.mat"] if extra else [])]
    files = find_files("svhn", root, [*parts, "test_32x32.mat"], SOURCE)
    train = [read_svhn_mat(files[p]) for p in parts]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    x_test, y_test = read_svhn_mat(files["test_32x32.mat"])
    std = channel_std(x_train)
    if np.any(std == 0):
        raise DataError("svhn: a colour channel of the training images is constant; the files are damaged")
    flat = lambda x: (x.astype(np.float32) / std).reshape(len(x), -1)  # noqa: E731
    width = np.broadcast_to(1.0 / std, (1, 3, 32, 32)).reshape(-1).astype(np.float32)  # (3072,)
    return dict(x_train=flat(x_train), y_train=y_train, x_test=flat(x_test), y_test=y_test,
                image_shape=(3, 32, 32), num_classes=10, bounded=False, noise_width=width)
