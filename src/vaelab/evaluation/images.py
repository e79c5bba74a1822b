"""Image grids of samples and reconstructions, written as PNG with matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from vaelab.files import atomic_write  # noqa: E402


def tile(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """(N, H, W) in [0, 1] -> one (rows*(H+pad)+pad, ncol*(W+pad)+pad) image, white padding."""
    n, h, w = images.shape
    rows = -(-n // ncol)
    grid = np.ones((rows * (h + pad) + pad, ncol * (w + pad) + pad), dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, ncol)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return grid


def save_grid(images: np.ndarray, path: str | Path, ncol: int, scale: int = 4, cmap: str = "gray") -> Path:
    """Write a tiled grid of (N, H, W) images as a PNG, each pixel scaled up `scale` times."""
    grid = np.clip(tile(images, ncol), 0.0, 1.0)
    grid = np.kron(grid, np.ones((scale, scale), dtype=np.float32))
    return atomic_write(path, lambda f: plt.imsave(f, grid, cmap=cmap, vmin=0.0, vmax=1.0, format="png"))
