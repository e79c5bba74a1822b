"""Uniform dequantisation of discrete grey levels (for Gaussian densities on real-valued images).

Stored pixels take `levels` values k / (levels - 1), k = 0 .. levels - 1. Dequantised, they become
y = (k + u) / levels with u ~ U[0, 1): continuous values in [0, 1) whose density p(y) on [0, 1]^D gives
log P(k) >= E_u[log p(y)] - D log(levels), a bound on the log-probability of the discrete image.
The training set gets fresh noise every epoch; validation and test get it once, with a fixed seed.
SVHN and NORB (ADGM section 3) are stored noise-free with the size of one grey level per input
(Dataset.noise_width), and get the same treatment through add_uniform_noise.
"""

from __future__ import annotations

import torch

from vaelab.data.checks import check_real_valued
from vaelab.data.errors import DataError

# Number of grey levels of each data set's stored pixels.
GREY_LEVELS: dict[str, int] = {"mnist": 256, "fashion-mnist": 256, "digits": 17, "images": 256}


def grey_levels(name: str) -> int:
    """The number of stored grey levels of data set `name`."""
    if name not in GREY_LEVELS:
        raise DataError(f"data set '{name}' has no known number of grey levels for dequantisation; "
                        f"set data.dequantize: false")
    return GREY_LEVELS[name]


def dequantize_dynamic(x: torch.Tensor, levels: int, generator: torch.Generator) -> torch.Tensor:
    """(round(x (levels-1)) + u) / levels with u ~ U[0, 1) drawn with `generator`; x: (N, D) in [0, 1]."""
    if levels < 2:
        raise DataError(f"dequantisation needs at least 2 grey levels, got {levels}")
    check_real_valued(x.detach().cpu().numpy(), "data to dequantise")
    k = torch.round(x.to(torch.float32) * (levels - 1))
    u = torch.rand(k.shape, generator=generator, dtype=torch.float32, device=k.device)
    return (k + u) / levels


def dequantize_fixed(x: torch.Tensor, levels: int, seed: int) -> torch.Tensor:
    """dequantize_dynamic with a generator seeded by `seed`: the same x and seed give the same values."""
    return dequantize_dynamic(x, levels, torch.Generator(device=x.device).manual_seed(seed))


def add_uniform_noise(x: torch.Tensor, width: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x + u * width with u ~ U[0, 1) drawn with `generator`: one grey level of noise in stored units.

    x: (B, D) pixel values as stored (e.g. SVHN grey levels / channel std), width: (D,) the size of one grey
    level in those units. Used for data sets whose loaders keep the pixels noise-free (Dataset.noise_width).
    """
    u = torch.rand(x.shape, generator=generator, dtype=torch.float32, device=x.device)
    return x + u * width.to(x.device)


def add_uniform_noise_fixed(x: torch.Tensor, width: torch.Tensor, seed: int) -> torch.Tensor:
    """add_uniform_noise with a generator seeded by `seed` (validation and test: drawn once)."""
    return add_uniform_noise(x, width, torch.Generator(device=x.device).manual_seed(seed))
