"""Stochastic binarisation: each pixel becomes 1 with probability equal to its grey level.

The test and validation sets are binarised once with a fixed seed so that every evaluation sees the
same binary images; the training set is binarised afresh every epoch (a form of data augmentation
used by the IWAE and Ladder VAE papers).
"""

from __future__ import annotations

import numpy as np
import torch

from vaelab.data.errors import DataError


def _check_probabilities(x: torch.Tensor) -> None:
    """Bernoulli probabilities must be finite and in [0, 1]."""
    if x.numel() and not (bool(torch.isfinite(x).all()) and x.min() >= 0 and x.max() <= 1):
        raise DataError("binarize: inputs must be grey levels in [0, 1]; rescale the data first")


def binarize_fixed(x: np.ndarray | torch.Tensor, seed: int) -> torch.Tensor:
    """Bernoulli(x) drawn with a generator seeded by `seed`: the same x and seed give the same bits.

    x: (N, D) grey levels in [0, 1]. Returns a float32 tensor of 0s and 1s, shape (N, D), on x's
    device (draws differ between CPU and CUDA for the same seed).
    """
    probs = torch.as_tensor(x, dtype=torch.float32)
    generator = torch.Generator(device=probs.device).manual_seed(seed)
    return binarize_dynamic(probs, generator)


def binarize_dynamic(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Bernoulli(x) drawn with `generator`, which advances: call once per batch per epoch.

    x: (B, D) grey levels in [0, 1]. Returns a float32 tensor of 0s and 1s, shape (B, D).
    """
    probs = x.to(torch.float32)
    _check_probabilities(probs)
    return torch.bernoulli(probs, generator=generator)
