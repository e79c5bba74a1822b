"""Helpers for the data tests: tiny IDX data sets written with write_idx."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from vaelab.data.idx import write_idx
from vaelab.data.sources import IDX_STEMS, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS

N_TRAIN, N_TEST = 6, 4


def write_tiny_set(directory: Path, gz: bool = True, seed: int = 0,
                   n_train: int = N_TRAIN, n_test: int = N_TEST) -> Path:
    """Write the four MNIST-format IDX files with a few random 28x28 images into `directory`."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for stem, array in arrays.items():
        write_idx(directory / f"{stem}{suffix}", array)
    return directory


def sha256_of_set(directory: Path) -> dict[str, str]:
    """file name -> SHA-256 for the four gz files of a tiny set."""
    return {f"{stem}.gz": hashlib.sha256((directory / f"{stem}.gz").read_bytes()).hexdigest()
            for stem in IDX_STEMS}


@dataclasses.dataclass
class Places:
    home: Path
    env: Path
    system: Path
    tmp: Path
