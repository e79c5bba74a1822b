"""Class-conditional generation of a semi-supervised model (ADGM Fig. 3)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def analogies(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """Fig. 3a: for every row of x, x itself then p(x | y_j, z) for every class j, z inferred from (x, y).

    x (n, D), y (n,) the labels used to infer z (true or predicted). Returns (n * (C + 1), D), row-major.
    """
    classes = model.params.classes
    z = model.encode_z(x, y)  # (n, D_z)
    rows = [x]
    for c in range(classes):
        rows.append(model.decode(z, torch.full_like(y, c)).mean)
    return torch.stack(rows, 1).reshape(-1, x.shape[1])


@torch.no_grad()
def samples_per_class(model: nn.Module, per_class: int) -> Tensor:
    """Fig. 3b: per_class rows of one sample for every class from noise, (per_class * C, D), class = column."""
    classes = model.params.classes
    y = torch.arange(classes).repeat(per_class)
    return model.generate(y.shape[0], y).mean


@torch.no_grad()
def class_rows(model: nn.Module, per_class: int) -> Tensor:
    """Fig. 3b as rows: row c holds per_class samples p(x | y = c, z) from noise, one z per column shared by
    every row (so a column keeps the style and changes the class). Returns (C * per_class, D), row-major."""
    classes = model.params.classes
    like = next(model.parameters())
    z = torch.randn(per_class, model.params.latent, dtype=like.dtype, device=like.device)  # (per_class, D_z)
    y = torch.arange(classes, device=like.device).repeat_interleave(per_class)  # 0 0 .. 1 1 ..
    return model.decode(z.repeat(classes, 1), y).mean
