"""Normalizing flows for posteriors and 2D densities: inverse autoregressive and planar steps.

Every step maps z (..., D) to (z', log|det dz'/dz|) with the log-determinant of shape (...,), and has an
inverse returning (z, the same forward log-determinant). A context h (..., C) from the encoder conditions
each step (amortised flows); without one (context_features = 0) the step has free parameters, as for
fitting a fixed density on R^2. `Flow.posterior` wraps a base Gaussian into a FlowPosterior distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.distributions.flow import FlowPosterior
from vaelab.layers.made import MADE

PLANAR_W_EPS = 1e-8  # guards u_hat's division by |w|^2 when w = 0 (then the step is a pure shift)
PLANAR_BISECTIONS = 80  # halvings of the inverse's bracket, in float64: far below float32 resolution


class IAFStep(nn.Module):
    """One gated IAF step (Kingma et al. 2016, eqs. 11-14; EQUATIONS.md §4).

    [m, s] = MADE(z, h); sigma = sigmoid(s + gate_bias); z' = sigma * z + (1 - sigma) * m.
    dz'_i/dz_j = 0 for j after i in the step's ordering and sigma_i on the diagonal, so
    log|det| = sum_i log sigma_i. gate_bias (+2: sigma starts near 0.88) keeps each step close to a
    contraction of z at the start of training, the initialisation Kingma et al. recommend. With the MADE's
    output layers at zero (their initial value) the step is exactly z' = sigmoid(gate_bias) * z.
    """

    def __init__(self, dim: int, hidden: tuple[int, ...], context_features: int = 0,
                 activation: str = "leaky_relu", reverse: bool = False, gate_bias: float = 2.0) -> None:
        super().__init__()
        self.dim = dim
        self.gate_bias = gate_bias
        self.made = MADE(dim, hidden, context_features, activation, reverse)

    def _gate(self, z: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        m, s = self.made(z, h)
        return m, s + self.gate_bias

    def forward(self, z: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        m, s = self._gate(z, h)
        z_new = torch.sigmoid(s) * z + torch.sigmoid(-s) * m  # 1 - sigmoid(s) = sigmoid(-s), no cancellation
        return z_new, F.logsigmoid(s).sum(-1)

    def inverse(self, z_new: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Solve the triangular system in D passes: pass k fixes the unit of degree k from the units before it.

        Units not yet solved stay at 0, so every intermediate value is finite (a fixed-point iteration over
        all units at once can overflow on its way).
        """
        z = torch.zeros_like(z_new)
        log_sigma = torch.zeros_like(z_new)
        for k in range(1, self.dim + 1):
            m, s = self._gate(z, h)  # the gate of the unit of degree k reads only units of lower degree
            unit = self.made.degrees == k  # (D,)
            z = torch.where(unit, (z_new - torch.sigmoid(-s) * m) / torch.sigmoid(s), z)
            log_sigma = torch.where(unit, F.logsigmoid(s), log_sigma)
        return z, log_sigma.sum(-1)


class PlanarStep(nn.Module):
    """f(z) = z + u_hat tanh(w^T z + b) (Rezende & Mohamed 2015, eqs. 10-12 and appendix A.1).

    u_hat = u + (m(w^T u) - w^T u) w / |w|^2 with m(x) = -1 + softplus(x) makes w^T u_hat > -1, hence
    1 + u_hat^T psi(z) > 0 with psi = tanh'(w^T z + b) w: the step is invertible and
    log|det| = log|1 + u_hat^T psi(z)|. Parameters are free (context_features = 0, started at small random
    values) or produced per example by a linear map of the context (amortised, as in the paper's VAE).
    Zero parameters give the identity.
    """

    def __init__(self, dim: int, context_features: int = 0, init_scale: float = 0.1) -> None:
        super().__init__()
        self.dim = dim
        n = 2 * dim + 1  # u, w, b
        if context_features > 0:
            self.amortised: nn.Linear | None = nn.Linear(context_features, n)
            self.free = None
        else:
            self.amortised = None
            self.free = nn.Parameter(init_scale * torch.randn(n))

    def params(self, h: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
        """(u_hat, w, b), shapes (..., D), (..., D), (..., 1): per example, or (D,), (D,), (1,) when free."""
        if (h is None) != (self.amortised is None):
            raise ValueError("PlanarStep: give a context h exactly when the step was built with context_features > 0")
        raw = self.free if self.amortised is None else self.amortised(h)
        u, w, b = raw[..., : self.dim], raw[..., self.dim: 2 * self.dim], raw[..., 2 * self.dim:]
        wu = (w * u).sum(-1, keepdim=True)
        u_hat = u + (F.softplus(wu) - 1.0 - wu) * w / (w * w).sum(-1, keepdim=True).clamp_min(PLANAR_W_EPS)
        return u_hat, w, b

    def forward(self, z: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        u, w, b = self.params(h)
        t = torch.tanh((w * z).sum(-1, keepdim=True) + b)  # (..., 1)
        log_det = torch.log((1.0 + (1.0 - t * t) * (w * u).sum(-1, keepdim=True)).abs().clamp_min(1e-30))
        return z + u * t, log_det.squeeze(-1)

    def inverse(self, y: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """alpha = w^T z solves alpha + c tanh(alpha + b) = w^T y, c = w^T u_hat > -1 (increasing in alpha).

        Bisection on [w^T y - |c|, w^T y + |c|] without gradient, then one Newton step with gradient so
        that the result is differentiable in the parameters (implicit function theorem, to first order).
        """
        u, w, b = self.params(h)
        c = (w * u).sum(-1, keepdim=True)
        target = (w * y).sum(-1, keepdim=True)
        with torch.no_grad():
            c64, t64, b64 = c.double(), target.double(), b.double()
            lo, hi = t64 - c64.abs(), t64 + c64.abs()
            for _ in range(PLANAR_BISECTIONS):
                mid = 0.5 * (lo + hi)
                above = mid + c64 * torch.tanh(mid + b64) > t64
                lo, hi = torch.where(above, lo, mid), torch.where(above, mid, hi)
            alpha0 = (0.5 * (lo + hi)).to(y.dtype)
        t0 = torch.tanh(alpha0 + b)
        alpha = alpha0 - (alpha0 + c * t0 - target) / (1.0 + c * (1.0 - t0 * t0))
        t = torch.tanh(alpha + b)
        z = y - u * t
        log_det = torch.log((1.0 + (1.0 - t * t) * c).abs().clamp_min(1e-30))
        return z, log_det.squeeze(-1)


class Flow(nn.Module):
    """A chain of steps z_0 -> z_T; forward returns (z_T, sum_t log|det|), inverse (z_0, the same sum)."""

    def __init__(self, steps: list[nn.Module]) -> None:
        super().__init__()
        if not steps:
            raise ValueError("a flow needs at least one step")
        self.steps = nn.ModuleList(steps)

    def forward(self, z: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        log_det = z.new_zeros(z.shape[:-1])
        for step in self.steps:
            z, step_log_det = step(z, h)
            log_det = log_det + step_log_det
        return z, log_det

    def inverse(self, z: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        log_det = z.new_zeros(z.shape[:-1])
        for step in reversed(self.steps):
            z, step_log_det = step.inverse(z, h)
            log_det = log_det + step_log_det
        return z, log_det

    def posterior(self, base: Distribution, h: Tensor | None = None) -> FlowPosterior:
        """The distribution of z_T = flow(z_0, h), z_0 ~ base (batch (N,), event (D,)); h (N, C) or None."""
        return FlowPosterior(base, lambda z0: self(z0, h), lambda z: self.inverse(z, h))


@dataclass(frozen=True)
class FlowSettings:
    """What a flow builder reads: number of steps, MADE hidden width (IAF), activation (IAF)."""

    steps: int = 2
    hidden: int = 128
    activation: str = "leaky_relu"


def build_iaf(dim: int, context_features: int, s: FlowSettings) -> Flow:
    """T IAF steps with two hidden MADE layers each; the ordering is reversed between steps."""
    return Flow([IAFStep(dim, (s.hidden, s.hidden), context_features, s.activation, reverse=t % 2 == 1)
                 for t in range(s.steps)])


def build_planar(dim: int, context_features: int, s: FlowSettings) -> Flow:
    """T planar steps (their parameters come from the context when context_features > 0)."""
    return Flow([PlanarStep(dim, context_features) for _ in range(s.steps)])


FLOWS: dict[str, Callable[[int, int, FlowSettings], Flow]] = {
    "iaf": build_iaf,
    "planar": build_planar,
}


def make_flow(kind: str, dim: int, context_features: int, settings: FlowSettings) -> Flow:
    """The flow named `kind` (a key of FLOWS) on R^dim, conditioned on a context of context_features."""
    if kind not in FLOWS:
        raise ValueError(f"unknown flow {kind!r}; choose one of {sorted(FLOWS)}")
    if dim < 1 or context_features < 0 or settings.steps < 1 or settings.hidden < 1:
        raise ValueError(f"a flow needs dim >= 1, steps >= 1 and hidden >= 1; got dim={dim}, {settings}")
    return FLOWS[kind](dim, context_features, settings)
