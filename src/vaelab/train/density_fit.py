"""Fit a flow to an unnormalised density on R^D and report the bound on log Z (Rezende & Mohamed 2015 sec. 6.1).

    fit = fit_density(log_f, make_flow("planar", 2, 0, FlowSettings(steps=8)), steps=5000)
    fit.bound            # E_q[log f - log q] <= log Z, estimated on fresh samples
    fit.flow             # the trained flow: fit.posterior(n) draws and evaluates q

q is q_0 pushed through the flow: q_0 = N(0, I), as in the paper's Figure 3, or (learn_base) a diagonal
Gaussian with learned mean and scale, the part an encoder supplies to an IAF (whose gated steps only contract).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.distributions import Independent, Normal

from vaelab.distributions import FlowPosterior, log_mean_exp
from vaelab.layers import Flow
from vaelab.objectives.density import LogDensity, density_log_weights


class GaussianBase(nn.Module):
    """q_0 = N(loc, diag(exp(2 log_scale))) on R^dim, started at N(0, I); learned or held fixed."""

    def __init__(self, dim: int, learn: bool) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(dim), requires_grad=learn)
        self.log_scale = nn.Parameter(torch.zeros(dim), requires_grad=learn)

    def forward(self, n: int) -> Independent:
        """q_0 with batch (n,)."""
        shape = (n, self.loc.shape[0])
        return Independent(Normal(self.loc.expand(shape), self.log_scale.exp().expand(shape)), 1)


@dataclass
class DensityFit:
    """A trained flow and its bounds on log Z (nats), estimated on `n_eval` fresh samples."""

    flow: Flow
    base: GaussianBase
    bound: float  # the ELBO E_q[log f - log q] <= log Z
    bound_se: float  # its standard error
    iw_bound: float  # log (1/K) sum_k f/q with K = n_eval, the importance-weighted bound, closer to log Z
    history: list[float] = field(default_factory=list)  # the training ELBO (beta = 1 part) per step

    def posterior(self, n: int) -> FlowPosterior:
        """q with batch (n,): .sample() draws n points, .log_prob(z) evaluates any z (by inversion)."""
        return self.flow.posterior(self.base(n))


def annealing(step: int, anneal_steps: int) -> float:
    """beta_t = min(1, 0.01 + t / anneal_steps) (Rezende & Mohamed's schedule, t from 0); 1 when off."""
    return 1.0 if anneal_steps <= 0 else min(1.0, 0.01 + step / anneal_steps)


def fit_density(log_f: LogDensity, flow: Flow, dim: int = 2, steps: int = 5000, batch: int = 256, lr: float = 1e-3,
                anneal_steps: int = 0, n_eval: int = 20000, seed: int = 0, learn_base: bool = False) -> DensityFit:
    """Maximise E_q[beta_t log f(z) - log q(z)] over the flow's parameters with Adam; returns the bounds on log Z.

    log_f: (n, dim) -> (n,), unnormalised. The flow must be unconditional (built with context_features = 0).
    learn_base: also learn the mean and scale of q_0 (else q_0 = N(0, I)).
    """
    if steps < 0 or batch < 1 or n_eval < 2:
        raise ValueError(f"fit_density needs steps >= 0, batch >= 1, n_eval >= 2; got {steps}, {batch}, {n_eval}")
    torch.manual_seed(seed)
    base = GaussianBase(dim, learn_base)
    opt = torch.optim.Adam([p for p in (*flow.parameters(), *base.parameters()) if p.requires_grad], lr=lr)
    history = []
    for step in range(steps):
        beta = annealing(step, anneal_steps)
        log_w = density_log_weights(flow.posterior(base(batch)), log_f, beta)  # (batch,)
        opt.zero_grad(set_to_none=True)
        (-log_w.mean()).backward()
        opt.step()
        history.append(float(log_w.detach().mean()) if beta == 1.0 else math.nan)
    with torch.no_grad():
        log_w = density_log_weights(flow.posterior(base(n_eval)), log_f)  # (n_eval,)
    return DensityFit(flow, base, float(log_w.mean()), float(log_w.std() / math.sqrt(n_eval)),
                      float(log_mean_exp(log_w.double())), history)


def grid_points(lim: float, n: int) -> tuple[Tensor, float]:
    """Midpoints of an n x n grid on [-lim, lim]^2, shape (n*n, 2) in float64, and the cell area."""
    edges = torch.linspace(-lim, lim, n + 1, dtype=torch.float64)
    mid = 0.5 * (edges[1:] + edges[:-1])
    return torch.stack(torch.meshgrid(mid, mid, indexing="ij"), -1).reshape(-1, 2), float((2 * lim / n) ** 2)


def grid_log_normaliser(log_f: LogDensity, lim: float = 6.0, n: int = 1000) -> float:
    """log Z of a density on R^2 by the midpoint rule on [-lim, lim]^2 with n x n cells (to check bounds)."""
    z, cell = grid_points(lim, n)
    return float(torch.logsumexp(log_f(z), 0)) + math.log(cell)
