"""Checks that data are fit for the models: finite and in [0, 1]."""

from __future__ import annotations

import numpy as np

from vaelab.data.errors import DataError


def check_real_valued(x: np.ndarray, name: str, unit_interval: bool = True) -> None:
    """Raise DataError, naming the data set `name`, if `x` holds NaN/inf or (unit_interval) values outside [0, 1]."""
    x = np.asarray(x)
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise DataError(f"{name}: {bad} values are NaN or infinite; fix or drop those examples")
    if unit_interval and x.size and (x.min() < 0 or x.max() > 1):
        raise DataError(
            f"{name}: values span [{x.min():.4g}, {x.max():.4g}], outside [0, 1]; rescale the data "
            f"(8-bit pixels: divide by 255)"
        )
