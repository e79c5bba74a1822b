"""The core contract every model honours (DESIGN.md §3).

`model(x, n_samples=S)` returns a ModelOutput for the S*B rows of x repeated S times, sample-major
(row s*B + b is sample s of example b, the same order as `x.repeat(S, 1)`):
    out.px        Distribution over x; out.px.log_prob(x.repeat(S, 1)) -> (S*B,)
    out.latents   [Latent(name, z, q, p)]; q.log_prob(z), p.log_prob(z) -> (S*B,)
Models never know K, beta or alpha: objectives do. `n_samples` only lets a model run its deterministic,
sample-independent work (e.g. the Ladder VAE's upward pass) once per example rather than once per sample.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from torch import Tensor, nn
from torch.distributions import Distribution


@dataclass
class Latent:
    """One stochastic site: its sample, the posterior q it came from, and its prior p."""

    name: str
    z: Tensor  # (S*B, D)
    q: Distribution  # batch_shape (S*B,)
    p: Distribution  # batch_shape (S*B,)


@dataclass
class ModelOutput:
    px: Distribution  # batch_shape (S*B,)
    latents: list[Latent] = field(default_factory=list)


def repeat_samples(t: Tensor, n_samples: int) -> Tensor:
    """(B, ...) -> (S*B, ...), sample-major, matching x.repeat(S, 1)."""
    if n_samples == 1:
        return t
    return t.repeat(n_samples, *([1] * (t.dim() - 1)))


def run_model(model: nn.Module, x: Tensor, n_samples: int = 1, **inputs: Tensor) -> ModelOutput:
    """Call a model for S samples per example, whether or not its forward takes `n_samples`.

    Models defined outside the package may implement only forward(x); then x is repeated here.
    Extra named inputs (e.g. labels y) are repeated alongside x.
    """
    if "n_samples" in inspect.signature(model.forward).parameters:
        return model(x, n_samples=n_samples, **inputs)
    repeated = {k: repeat_samples(v, n_samples) for k, v in inputs.items()}
    return model(repeat_samples(x, n_samples), **repeated)
