"""One's own data in an .npz file (data.name: npz, data.path: FILE), as written by numpy.savez.

Arrays read: `x` (N, ...) the examples, float in [0, 1] (or any real values for the Gaussian decoders) or uint8
0..255 (divided by 255); optional `y` (N,) integer labels 0..C-1; optional `x_test`, `y_test` the test split
(else one is carved off, see data/own.py); optional `class_names` (C,) strings, which also fixes C. Any other
array is refused, so a misspelt name cannot go unread.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from vaelab.data.errors import DataError
from vaelab.data.own import (UNLABELLED, OwnData, carve_test, check_finite, check_own_labels, check_test_classes,
                             is_unit_interval)

NPZ_ARRAYS = ("x", "y", "x_test", "y_test", "class_names")


def _read(path: Path) -> dict[str, np.ndarray]:
    """Every array of the file, or DataError when it is no readable .npz (or holds unknown arrays)."""
    if not path.is_file():
        raise DataError(f"{path}: is a folder; data.name npz reads one .npz file (data.name: images reads a "
                        f"folder of images)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise DataError(f"{path}: holds a single array, not an .npz archive; save it with "
                                f"numpy.savez(path, x=x, y=y)")
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(f"{path}: cannot be read as an .npz file ({str(err).splitlines()[0][:100]}); "
                        f"save it with numpy.savez(path, x=x, y=y)") from None
    if "x" not in arrays:
        raise DataError(f"{path}: has no array 'x' (it holds {', '.join(arrays) or 'none'}); save the examples "
                        f"as numpy.savez(path, x=x, y=y)")
    unknown = sorted(set(arrays) - set(NPZ_ARRAYS))
    if unknown:
        raise DataError(f"{path}: holds an array '{unknown[0]}' that is not read; the arrays read are "
                        f"{', '.join(NPZ_ARRAYS)} (rename or drop it)")
    return arrays


def _pixels(x: np.ndarray, path: Path, what: str) -> np.ndarray:
    """(N, ...) uint8, bool or float -> float32 (N, ...); uint8 divided by 255."""
    if x.ndim < 2 or len(x) == 0:
        raise DataError(f"{path}: {what} has shape {x.shape}; it must be (N, ...) with N >= 1 examples, e.g. "
                        f"(N, 28, 28) images or (N, D) vectors")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255)
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{path}: {what} has dtype {x.dtype}; give floats (in [0, 1] for Bernoulli models) or "
                        f"uint8 pixels 0..255")
    check_finite(x, path, what)
    return x.astype(np.float32)


def _labels(arrays: dict[str, np.ndarray], path: Path, n: int, n_test: int | None) -> tuple[Any, ...]:
    """(y, y_test or None, class_names): the labels, checked, or UNLABELLED throughout when there is no y."""
    has_test = n_test is not None
    if "y" not in arrays:
        for name in ("y_test", "class_names"):
            if name in arrays:
                raise DataError(f"{path}: holds '{name}' but no 'y'; give the training labels as y, or drop {name}")
        return (np.full(n, UNLABELLED, np.int64), np.full(n_test, UNLABELLED, np.int64) if has_test else None, ())
    y = check_own_labels(arrays["y"], n, path, "y")
    y_test = None
    if has_test:
        if "y_test" not in arrays:
            raise DataError(f"{path}: holds y and x_test but no y_test; give the test labels as y_test")
        y_test = check_own_labels(arrays["y_test"], n_test, path, "y_test")
    elif "y_test" in arrays:
        raise DataError(f"{path}: holds y_test but no x_test; give the test examples as x_test")
    names = tuple(str(s) for s in arrays.get("class_names", np.array([], dtype=str)).reshape(-1))
    return y, y_test, names


def load_npz(source: OwnData) -> dict[str, Any]:
    """The fields of a Dataset (name: the file's path) from an .npz file; DataError naming the file otherwise."""
    path = source.path
    arrays = _read(path)
    x = _pixels(arrays["x"], path, "x")
    x_test = _pixels(arrays["x_test"], path, "x_test") if "x_test" in arrays else None
    if x_test is not None and x_test.shape[1:] != x.shape[1:]:
        raise DataError(f"{path}: x holds examples of shape {x.shape[1:]} but x_test of shape {x_test.shape[1:]}; "
                        f"both splits need the same shape")
    y, y_test, names = _labels(arrays, path, len(x), None if x_test is None else len(x_test))
    if x_test is None:
        x, y, x_test, y_test = carve_test(x, y, source.test_fraction, path)
    labelled = "y" in arrays
    classes = (len(names) or int(max(y.max(), y_test.max(initial=0))) + 1) if labelled else 0
    if labelled:
        check_test_classes(y, y_test, classes, path)
    shape = tuple(int(s) for s in x.shape[1:])
    return dict(x_train=x.reshape(len(x), -1), y_train=y, x_test=x_test.reshape(len(x_test), -1), y_test=y_test,
                image_shape=shape, num_classes=classes, bounded=is_unit_interval(x, x_test), class_names=names)
