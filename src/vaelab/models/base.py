"""The core contract every model honours (DESIGN.md §3).

`model(x, n_samples=S)` returns a ModelOutput for the S*B rows of x repeated S times, sample-major
(row s*B + b is sample s of example b, the same order as `x.repeat(S, 1)`):
    out.px        Distribution over x; out.px.log_prob(x.repeat(S, 1)) -> (S*B,)
    out.latents   [Latent(name, z, q, p)]; q.log_prob(z), p.log_prob(z) -> (S*B,)
Models never know K, beta or alpha: objectives do. `n_samples` only lets a model run its deterministic,
sample-independent work (e.g. the Ladder VAE's upward pass) once per example rather than once per sample.

Semi-supervised models (class attribute `takes_labels = True`: M2, ADGM, SDGM) take the label as a site:
    model(x, y, n_samples=S)     y (B,) int64 observed: S*B rows as above; out.label.y == y repeated
    model(x, None, n_samples=S)  y enumerated: C*S*B rows, class-major (row c*S*B + s*B + b has y = c, and
                                 every class of one (s, b) shares the same sample of a), i.e. the order of
                                 x.repeat(C*S, 1); one forward pass serves the exact sum over y (ADGM eq. 17)
    out.label     LabelSite(y, q, p, classes, enumerated): q = q(y|a,x) (M2: q(y|x)), p = p(y), per row
and offer, for classification and figures:
    model.classify(x, n_samples=S)  -> (B, C) q(y|a,x) averaged over S samples of a
    model.encode_z(x, y)            -> (B, D_z) the posterior mean path of z given x and its label
    model.decode(z, y)              -> p(x | y, z, ...) for given z and labels
    model.generate(n, y=None)       -> p(x | .) from the prior, y = i mod C when not given
The objectives for them are in vaelab.objectives.semisupervised.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from torch import Tensor, nn
from torch.distributions import Categorical, Distribution


@dataclass
class Latent:
    """One stochastic site: its sample, the posterior q it came from, and its prior p.

    analytic_kl says whether KL(q || p) in closed form is a valid replacement for E_q[log q - log p] at this
    site: true when p's parameters depend only on samples drawn *before* z (top-down, or a fixed prior);
    false when they depend on a sample drawn *after* z from q (bottom-up inference, auxiliary variables),
    because then that later sample is correlated with z and the closed form integrates z out wrongly.
    """

    name: str
    z: Tensor  # (S*B, D)
    q: Distribution  # batch_shape (S*B,)
    p: Distribution  # batch_shape (S*B,)
    analytic_kl: bool = True


@dataclass
class LabelSite:
    """The class label y of a semi-supervised model: observed, or enumerated over every class."""

    y: Tensor  # (N,) int64, the class of each row
    q: Categorical  # q(y | a, x) of each row, batch_shape (N,)
    p: Categorical  # p(y), batch_shape (N,)
    classes: int
    enumerated: bool  # rows are class-major (C, S, B) when True, (S, B) when y was observed


@dataclass
class ModelOutput:
    px: Distribution  # batch_shape (S*B,)
    latents: list[Latent] = field(default_factory=list)
    label: LabelSite | None = None  # semi-supervised models only


def takes_labels(model: nn.Module | type) -> bool:
    """True for semi-supervised families, whose forward takes y and returns out.label."""
    return bool(getattr(model, "takes_labels", False))


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
    inner = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model  # keywords pass through
    if "n_samples" in inspect.signature(inner.forward).parameters:
        return model(x, n_samples=n_samples, **inputs)
    repeated = {k: repeat_samples(v, n_samples) for k, v in inputs.items()}
    return model(repeat_samples(x, n_samples), **repeated)
