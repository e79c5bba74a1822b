"""MADE: a masked autoencoder whose outputs for unit i depend only on the inputs before i in an ordering.

Germain et al. (2015), as used by the inverse autoregressive flow (Kingma et al. 2016; EQUATIONS.md §4):
[m, s] = AutoregressiveNN(z, h). Every unit gets a degree: inputs their position in the ordering (1..D),
hidden units a degree in 1..D-1; a weight from degree a to a hidden unit of degree b exists when b >= a,
and to an output of degree c when c > b. So output i sees exactly the inputs of lower degree, and the
Jacobian d[m, s]/dz is strictly triangular in the ordering. A context h (e.g. from the encoder) enters the
first hidden layer unmasked: it may influence every output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vaelab.layers.mlp import ACTIVATIONS


class MaskedLinear(nn.Linear):
    """Linear layer whose weight is multiplied by a fixed 0/1 mask of shape (out_features, in_features)."""

    def __init__(self, mask: Tensor) -> None:
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.float(), persistent=False)  # rebuilt from the degrees

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def input_degrees(dim: int, reverse: bool) -> Tensor:
    """Degrees 1..D of the inputs: the natural order, or reversed (Kingma et al. reverse it between steps)."""
    degrees = torch.arange(1, dim + 1)
    return degrees.flip(0) if reverse else degrees


def hidden_degrees(dim: int, width: int) -> Tensor:
    """Hidden degrees cycling through 1..D-1; for D = 1 all 0 (hidden units see no input, only the context)."""
    if dim == 1:
        return torch.zeros(width, dtype=torch.long)
    return torch.arange(width) % (dim - 1) + 1


class MADE(nn.Module):
    """(z, h) -> (m, s), each (..., D); output i depends on z only through the inputs of lower degree.

    z: (..., D); h: (..., C) or None when context_features = 0. Leading dimensions broadcast, so a context
    of shape (N, C) serves samples of shape (S, N, D). The two output layers start at zero, so m = 0 and
    s = 0 until training moves them.
    """

    def __init__(self, dim: int, hidden: tuple[int, ...], context_features: int = 0, activation: str = "leaky_relu",
                 reverse: bool = False) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        if dim < 1 or not hidden or any(w < 1 for w in hidden):
            raise ValueError(f"MADE needs dim >= 1 and positive hidden widths, got dim={dim}, hidden={hidden}")
        self.dim = dim
        self.register_buffer("degrees", input_degrees(dim, reverse), persistent=False)
        prev = self.degrees
        layers = []
        for width in hidden:
            deg = hidden_degrees(dim, width)
            layers.append(MaskedLinear(deg[:, None] >= prev[None, :]))
            prev = deg
        self.hidden = nn.ModuleList(layers)
        self.context = nn.Linear(context_features, hidden[0], bias=False) if context_features > 0 else None
        out_mask = self.degrees[:, None] > prev[None, :]
        self.out_m, self.out_s = MaskedLinear(out_mask), MaskedLinear(out_mask)
        for layer in (self.out_m, self.out_s):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        self.act = ACTIVATIONS[activation]()

    def forward(self, z: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if (h is None) != (self.context is None):
            raise ValueError("MADE: give a context h exactly when the network was built with context_features > 0")
        a = self.hidden[0](z)
        if self.context is not None:
            a = a + self.context(h)
        a = self.act(a)
        for layer in self.hidden[1:]:
            a = self.act(layer(a))
        return self.out_m(a), self.out_s(a)
