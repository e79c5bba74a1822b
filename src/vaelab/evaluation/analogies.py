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
