"""Small NORB in its binary matrix format, prepared as in ADGM section 3 (after Miyato et al. 2015).

A file is: int32 magic (little-endian; 0x1E3D4C55 uint8, 0x1E3D4C54 int32, ...), int32 ndim, max(3, ndim)
int32 dimensions, then the items. The -dat files hold (24300, 2, 96, 96) uint8 stereo pairs, the -cat files
(24300,) int32 classes 0..4 (animal, human, plane, truck, car). Each image is averaged over 3x3 blocks to 32x32,
the pair flattened to 2048 inputs, uniform noise in [0, 1) added and divided by 256. The noise is not added here:
the Dataset keeps pixels / 256 and noise_width = 1 / 256, and the training split gets fresh noise every epoch,
validation and test once with fixed seeds (data.splits, train.semisupervised).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.data.errors import DataError
from vaelab.data.files import find_files, read_bytes

SOURCE = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
STEM = "smallnorb-5x46789x9x18x6x2x96x96"
FILES = {split: (f"{STEM}-{split}-dat.mat", f"{STEM}-{split}-cat.mat") for split in ("training", "testing")}
NORB_DTYPES = {0x1E3D4C55: np.dtype("u1"), 0x1E3D4C54: np.dtype("<i4"), 0x1E3D4C51: np.dtype("<f4"),
               0x1E3D4C53: np.dtype("<f8"), 0x1E3D4C56: np.dtype("<i2")}
DOWNSAMPLE = 3  # 96 / 3 = 32


def read_norb_mat(path: Path) -> np.ndarray:
    """Read one NORB binary matrix file (raw or gzip) into an array of its declared shape."""
    data = read_bytes(Path(path))
    if len(data) < 8:
        raise DataError(f"{path}: too short for a NORB matrix header; download the file again")
    magic, ndim = struct.unpack("<iI", data[:8])
    if magic not in NORB_DTYPES or not 1 <= ndim <= 16:
        raise DataError(f"{path}: not a NORB binary matrix (magic {magic & 0xFFFFFFFF:#x}, ndim {ndim})")
    n_dims = max(3, ndim)
    header = 8 + 4 * n_dims
    if len(data) < header:
        raise DataError(f"{path}: truncated NORB header ({len(data)} bytes, expected {header}); download the file again")
    dims = struct.unpack(f"<{n_dims}i", data[8:header])[:ndim]
    if min(dims) < 0:
        raise DataError(f"{path}: NORB header declares negative dimensions {dims}; the file is damaged")
    dtype = NORB_DTYPES[magic]
    need = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != need:
        raise DataError(f"{path}: header declares {dims} {dtype.name} ({need} bytes) but holds "
                        f"{len(data) - header}; the file is truncated or damaged")
    return np.frombuffer(data, dtype, offset=header, count=int(np.prod(dims))).reshape(dims).astype(dtype.newbyteorder("="))


def write_norb_mat(path: Path, array: np.ndarray) -> None:
    """Write an array in the NORB binary matrix format (uint8 or int32), for tests and tools."""
    array = np.asarray(array)
    magic = {np.dtype("u1"): 0x1E3D4C55, np.dtype("i4"): 0x1E3D4C54}.get(array.dtype)
    if magic is None:
        raise DataError(f"{path}: write_norb_mat stores uint8 or int32 arrays, got {array.dtype}")
    dims = list(array.shape) + [1] * (3 - array.ndim)
    header = struct.pack(f"<iI{len(dims)}i", magic, array.ndim, *dims)
    Path(path).write_bytes(header + array.astype(array.dtype.newbyteorder("<")).tobytes())


def _read_split(files: dict[str, Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    dat, cat = (files[name] for name in FILES[split])
    images, labels = read_norb_mat(dat), read_norb_mat(cat).astype(np.int64).reshape(-1)
    if images.ndim != 4 or images.shape[1] != 2 or images.shape[2] % DOWNSAMPLE or images.shape[3] % DOWNSAMPLE:
        raise DataError(f"{dat}: holds {images.shape}, expected (N, 2, 96, 96) stereo pairs")
    if len(images) != len(labels):
        raise DataError(f"{dat} holds {len(images)} pairs but {cat} {len(labels)} labels; use files of one release")
    if labels.size and (labels.min() < 0 or labels.max() > 4):
        raise DataError(f"{cat}: labels span {labels.min()}..{labels.max()}, expected 0..4")
    n, _, h, w = images.shape
    blocks = images.reshape(n, 2, h // DOWNSAMPLE, DOWNSAMPLE, w // DOWNSAMPLE, DOWNSAMPLE)
    return blocks.mean(axis=(3, 5), dtype=np.float32), labels


def load_norb(root: str | Path | None, download: bool) -> dict[str, Any]:
    """The fields of the `norb` Dataset: 2 x 32 x 32 inputs in [0, 1), 5 classes."""
    files = find_files("norb", root, [name for pair in FILES.values() for name in pair], SOURCE)
    out: dict[str, Any] = dict(num_classes=5, bounded=True)
    for split, key in (("training", "train"), ("testing", "test")):
        pixels, labels = _read_split(files, split)
        out[f"x_{key}"] = (pixels / np.float32(256)).reshape(len(pixels), -1)
        out[f"y_{key}"] = labels
        out["image_shape"] = tuple(pixels.shape[1:])  # (2, 32, 32) for the real files
    out["noise_width"] = np.full(int(np.prod(out["image_shape"])), 1 / 256, dtype=np.float32)
    return out
