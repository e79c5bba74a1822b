"""The two half-moons of ADGM section 4.2: 1e4 training points and a separate 1e4-point test set.

Top moon (cos t, sin t), bottom moon (1 - cos t, 1 - sin t - 0.5), t ~ U[0, pi], plus Gaussian noise of
standard deviation 0.1. The paper says only "with added Gaussian noise"; the authors' loader used scikit-learn's
make_moons with noise 0.2, at which the moons overlap (k-nearest neighbours trained on all 1e4 labels err on
2.9% of the test points), so the paper's "close to 0%" cannot be reached there. At 0.1 the classes are separable
(k-NN with all labels: 0.06% test error, benchmarks/results/adgm_moons.md). The authors also drew their test set
with the training set's seed, i.e. the same points; here the test set has its own seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vaelab.data.errors import DataError

# Where the ADGM authors put the 3 labels of each class: both ends and the apex of its moon (their loader,
# larsmaaloee/auxiliary-deep-generative-models data_loaders/half_moon.py:29-40, wrote them by hand in the frame
# shifted by the data's |min| (lines 11-13): e.g. top (.7, 1.7), (1.6, 2.6), (2.7, 1.7)). In two_moons' frame,
# class 0 is the top moon (cos t, sin t): ends (-1, 0) at t = pi and (1, 0) at t = 0, apex (0, 1) at t = pi/2;
# class 1 the bottom moon (1 - cos t, 1 - sin t - 0.5): ends (0, 0.5) and (2, 0.5), apex (1, -0.5).
MOON_LABEL_POINTS = {0: ((-1.0, 0.0), (0.0, 1.0), (1.0, 0.0)), 1: ((0.0, 0.5), (1.0, -0.5), (2.0, 0.5))}
MOONS_TRAIN = 10_000
MOONS_TEST = 10_000
MOONS_NOISE = 0.1  # see the module docstring
TRAIN_SEED, TEST_SEED = 1234, 4321


def two_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points (float32 (n, 2)) and labels (int64 (n,), 0 = top, 1 = bottom), classes balanced to within one."""
    if n < 1 or noise < 0:
        raise DataError(f"two_moons needs n >= 1 and noise >= 0, got n={n}, noise={noise}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 2)
    t = rng.uniform(0.0, np.pi, n)
    top = np.stack([np.cos(t), np.sin(t)], 1)
    bottom = np.stack([1.0 - np.cos(t), 1.0 - np.sin(t) - 0.5], 1)
    x = np.where(y[:, None] == 0, top, bottom) + noise * rng.standard_normal((n, 2))
    return x.astype(np.float32), y.astype(np.int64)


def load_moons(root: str | Path | None, download: bool) -> dict[str, Any]:
    """The fields of the `moons` Dataset (generated, nothing to read)."""
    if root is not None:
        raise DataError(f"data.root is set to {root} but 'moons' is generated and reads no files; unset data.root")
    x_train, y_train = two_moons(MOONS_TRAIN, MOONS_NOISE, TRAIN_SEED)
    x_test, y_test = two_moons(MOONS_TEST, MOONS_NOISE, TEST_SEED)
    return dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, image_shape=(2,),
                num_classes=2, bounded=False)
