"""Uncertainty maps (Balancing-ELBO section 5.4, Figs. 3-4): the predicted per-pixel standard deviation of
p(x | z), drawn as a heat map beside the images it belongs to.

For the Gaussian decoders this is sigma_d(z); it varies over pixels and inputs only with gaussian_input
(stage two) and gaussian_pixel. For a Bernoulli decoder it is sqrt(p (1 - p)).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch.distributions import Distribution  # noqa: E402

from vaelab.evaluation.images import tile  # noqa: E402
from vaelab.files import atomic_write  # noqa: E402


def predicted_std(px: Distribution, image_shape: tuple[int, ...]) -> np.ndarray:
    """The standard deviation of p(x | z) per pixel, (N, *image_shape)."""
    return px.stddev.detach().reshape(-1, *image_shape).cpu().numpy()


def save_panels(panels: list[tuple[str, np.ndarray]], path: str | Path, ncol: int, heat: tuple[str, ...] = ("sigma",)) -> Path:
    """One figure of side-by-side tiled grids (title, images (N, H, W)); panels whose title starts with a word in
    `heat` are heat maps (inferno, 0 to their maximum, with a colour bar), the others grey images in [0, 1]."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
    for ax, (title, images) in zip(axes[0], panels):
        grid = tile(images, ncol)
        if title.split()[0] in heat:
            top = float(images.max()) if images.size else 1.0
            padding = tile(np.zeros_like(images), ncol) == 1  # tile pads with ones: hide the padding
            shown = ax.imshow(np.ma.masked_array(grid, padding), cmap="inferno", vmin=0.0,
                              vmax=top if top > 0 else 1.0)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        else:
            ax.imshow(np.clip(grid, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    path = atomic_write(path, lambda f: fig.savefig(f, dpi=120, format="png"))
    plt.close(fig)
    return path
