"""Loading a data set by name: the Dataset record, one loader per source, and the registry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from vaelab.data.download import download_dataset
from vaelab.data.errors import DataError
from vaelab.data.idx import read_idx
from vaelab.data.images import load_images
from vaelab.data.moons import load_moons
from vaelab.data.norb import load_norb
from vaelab.data.npz import load_npz
from vaelab.data.own import OWN_TEST_FRACTION, OwnData
from vaelab.data.svhn import load_svhn
from vaelab.data.locate import (
    cache_dir,
    dataset_files,
    find_dataset_dir,
    how_to_provide,
    search_places,
)
from vaelab.data.sources import (
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    IdxSource,
    idx_source,
)

DIGITS_SPLIT_SEED = 1797  # fixed: every run sees the same 1497/300 train/test split of digits
DIGITS_TEST_SIZE = 300
DIGITS_GREY_LEVELS = 16.0  # load_digits pixels are counts 0..16


@dataclass(frozen=True, eq=False)  # arrays have no single truth value for ==
class Dataset:
    """A data set as flat float32 images in [0, 1] with int64 labels.

    x_train (N, D), y_train (N,), x_test (M, D), y_test (M,), D = prod(image_shape).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...]
    num_classes: int
    bounded: bool = True  # values in [0, 1]; False for real-valued data (standardised images, the moons)
    noise_width: np.ndarray | None = None  # (D,) float32: one grey level in stored units; training adds fresh
    # U[0, 1) * noise_width every epoch, validation and test once (SVHN, NORB: uniform dequantisation)
    class_names: tuple[str, ...] = ()  # name of each class 0..C-1 where the source gives them (image folders)

    def __post_init__(self) -> None:
        width = math.prod(self.image_shape)
        for part, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != width:
                raise DataError(
                    f"{self.name} {part}: images must be float32 of shape (N, {width}), got "
                    f"{x.dtype} {x.shape}"
                )
            if y.dtype != np.int64 or y.shape != (len(x),):
                raise DataError(
                    f"{self.name} {part}: labels must be int64 of shape ({len(x)},), got "
                    f"{y.dtype} {y.shape}"
                )
        if self.noise_width is not None and self.noise_width.shape != (width,):
            raise DataError(f"{self.name}: noise_width must have shape ({width},), got {self.noise_width.shape}")


@dataclass(frozen=True)
class DataRequest:
    """What a loader is told: the data.root, data.download, data.path and data.image_size of a config."""

    root: str | Path | None = None
    download: bool = True
    path: str | Path | None = None
    image_size: tuple[int, int] | None = None
    test_fraction: float = OWN_TEST_FRACTION


Loader = Callable[[DataRequest], Dataset]


def _load_digits(root: str | Path | None, download: bool) -> Dataset:
    """scikit-learn's 1,797 8x8 digits (shipped with the library), grey levels / 16, split 1497/300."""
    if root is not None:
        raise DataError(
            f"data.root is set to {root} but 'digits' ships with scikit-learn and reads no files; "
            f"unset data.root"
        )
    digits = load_digits()
    x = (digits.data / DIGITS_GREY_LEVELS).astype(np.float32)  # (1797, 64)
    y = digits.target.astype(np.int64)
    # Stratified so the small test set holds every class in proportion.
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_SIZE, random_state=DIGITS_SPLIT_SEED, stratify=y
    )
    return Dataset("digits", x_train, y_train, x_test, y_test, (8, 8), 10)


def _read_pair(
    images_path: Path, labels_path: Path, expected: int, source: IdxSource
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images/labels pair of IDX files; check shapes, agreement, count and label range."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != source.image_shape:
        raise DataError(
            f"{images_path}: holds an array of shape {images.shape}, expected (N, "
            f"{', '.join(map(str, source.image_shape))}); is it an images file?"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: holds an array of shape {labels.shape}, expected (N,)")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            f"the two files come from different copies: replace them with a matching pair"
        )
    if len(images) != expected:
        raise DataError(
            f"{images_path}: holds {len(images)} examples, expected {expected}; the copy is "
            f"incomplete or is another data set"
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= source.num_classes):
        raise DataError(
            f"{labels_path}: labels span {labels.min()}..{labels.max()}, "
            f"expected 0..{source.num_classes - 1}"
        )
    x = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)  # (N, 784) in [0, 1]
    return x, labels.astype(np.int64)


def _load_idx(name: str, root: str | Path | None, download: bool) -> Dataset:
    """An MNIST-format data set from a local copy, or downloaded (and verified) into the cache."""
    source = idx_source(name)
    directory = find_dataset_dir(name, root)
    if directory is None:
        if not download:
            places = ", ".join(str(place) for place in search_places(name))
            raise DataError(
                f"{name}: no local copy found (searched {places}) and download=False; "
                f"{how_to_provide(name)}, or allow downloading"
            )
        directory = download_dataset(name, cache_dir(name))
    files = dataset_files(directory)
    x_train, y_train = _read_pair(files[TRAIN_IMAGES], files[TRAIN_LABELS], source.train_count, source)
    x_test, y_test = _read_pair(files[TEST_IMAGES], files[TEST_LABELS], source.test_count, source)
    return Dataset(name, x_train, y_train, x_test, y_test, source.image_shape, source.num_classes)


def _from_fields(name: str, read: Callable[..., dict], root: str | Path | None, download: bool) -> Dataset:
    """A Dataset from a reader that returns its fields (moons, SVHN, NORB)."""
    return Dataset(name, **read(root, download))


def _built_in(name: str, load: Callable[[str | Path | None, bool], Dataset], request: DataRequest) -> Dataset:
    """A data set known by name: it reads data.root (or the default places), never data.path."""
    if request.path is not None or request.image_size is not None:
        raise DataError(f"data.path and data.image_size are for one's own data (data.name: npz or images), not "
                        f"'{name}'; remove them (data.root gives the folder of {name}'s files)")
    return load(request.root, request.download)


def _own(name: str, read: Callable[[OwnData], dict], request: DataRequest) -> Dataset:
    """One's own data from data.path (an .npz file, a folder of images); the Dataset is named by the path."""
    if request.root is not None:
        raise DataError(f"data.root is for the data sets known by name; data.name {name} reads data.path: "
                        f"remove data.root")
    if request.path is None:
        raise DataError(f"data.name {name} reads data.path: set it to your {NEEDS_PATH[name]}")
    path = Path(request.path).expanduser()
    if not path.exists():
        raise DataError(f"data.path {path} does not exist; give the path of your {NEEDS_PATH[name]} (relative "
                        f"paths start from the working directory)")
    return Dataset(str(path), **read(OwnData(path, request.image_size, request.test_fraction)))


NEEDS_PATH = {"npz": ".npz file", "images": "folder of PNG/JPEG images"}  # data.name -> what data.path names

LOADERS: dict[str, Loader] = {
    "digits": partial(_built_in, "digits", _load_digits),
    "mnist": partial(_built_in, "mnist", partial(_load_idx, "mnist")),
    "fashion-mnist": partial(_built_in, "fashion-mnist", partial(_load_idx, "fashion-mnist")),
    "moons": partial(_built_in, "moons", partial(_from_fields, "moons", load_moons)),
    "svhn": partial(_built_in, "svhn", partial(_from_fields, "svhn", load_svhn)),
    "svhn-train": partial(_built_in, "svhn-train",
                          partial(_from_fields, "svhn-train", partial(load_svhn, extra=False))),
    "norb": partial(_built_in, "norb", partial(_from_fields, "norb", load_norb)),
    "npz": partial(_own, "npz", load_npz),
    "images": partial(_own, "images", load_images),
}


def load_dataset(name: str, root: str | Path | None = None, download: bool = True, path: str | Path | None = None,
                 image_size: tuple[int, int] | None = None, test_fraction: float = OWN_TEST_FRACTION) -> Dataset:
    """Load data set `name` (a key of LOADERS) as flat float32 (in [0, 1] unless Dataset.bounded is False).

    root: a directory holding the four IDX files (the config's data.root); None searches the
    default places (see vaelab.data.locate). download: fetch the files when no copy is found.
    path, image_size, test_fraction: one's own data (name npz or images; vaelab.data.npz, vaelab.data.images):
    the file or folder, the (H, W) every image is resized to, the share carved off as test when the files
    hold no test split (vaelab.data.own).
    """
    loader = LOADERS.get(name)
    if loader is None:
        raise DataError(f"unknown data set '{name}'; choose one of: {', '.join(LOADERS)}")
    return loader(DataRequest(root, download, path, None if image_size is None else tuple(image_size), test_fraction))
