"""Distribution heads: map a hidden layer d to a torch Distribution over one example's event.

Numerical guards live here once (DESIGN.md §5.3): variance floors and log-variance clamps.
A head parameterises *either* the variance through Softplus plus a floor (LVAE eqs. 11-12, 15) *or* an
unconstrained log-variance (ADGM eqs. 14-16), never softplus of a log-variance (DESIGN.md §4).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal

from vaelab.layers.decoder_variance import DECODER_VARIANCE_HEADS, PIXEL_FLOOR_HEADS
from vaelab.layers.pixel_variance_floor import PixelVarianceFloor

LOGVAR_CLAMP = (-20.0, 10.0)


class GaussianHead(nn.Module):
    """Diagonal Gaussian N(mu(d), var(d)) with mu = Linear(d) and var = Softplus(Linear(d)) + floor.

    `variance="logvar"` uses var = exp(clamp(Linear(d))) instead (the ADGM parameterisation).
    Returns Independent(Normal, 1): log_prob sums over the event, shape (N,).
    """

    def __init__(self, in_features: int, out_features: int, var_floor: float = 1e-5,
                 variance: str = "softplus") -> None:
        super().__init__()
        if variance not in ("softplus", "logvar"):
            raise ValueError(f"unknown variance parameterisation {variance!r}; use 'softplus' or 'logvar'")
        if var_floor < 0:
            raise ValueError(f"var_floor must be >= 0, got {var_floor}")
        self.mean = nn.Linear(in_features, out_features)
        self.var = nn.Linear(in_features, out_features)
        self.var_floor = var_floor
        self.variance = variance

    def params(self, d: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, variance), each (N, out_features)."""
        raw = self.var(d)
        if self.variance == "softplus":
            var = F.softplus(raw) + self.var_floor
        else:
            var = torch.exp(raw.clamp(*LOGVAR_CLAMP)) + self.var_floor
        return self.mean(d), var

    def forward(self, d: Tensor) -> Distribution:
        mu, var = self.params(d)
        return diagonal_normal(mu, var)


class BernoulliHead(nn.Module):
    """Bernoulli with logits = Linear(d) (sigmoid mean, LVAE eq. 3; Kingma & Welling eq. 1.17)."""

    def __init__(self, in_features: int, out_features: int, var_floor: float = 0.0) -> None:
        super().__init__()
        self.logits = nn.Linear(in_features, out_features)

    def forward(self, d: Tensor) -> Distribution:
        return Independent(Bernoulli(logits=self.logits(d)), 1)


def diagonal_normal(mu: Tensor, var: Tensor) -> Distribution:
    """Independent(Normal(mu, sqrt(var)), 1): a diagonal Gaussian whose log_prob is one number per example."""
    return Independent(Normal(mu, var.sqrt()), 1)


# name -> factory(in_features, out_features, var_floor, obs_variance); obs_variance is the decoder variance
# of the gaussian_* heads of decoder_variance.py (fixed value, or starting value of a learned one).
OBSERVATION_HEADS: dict[str, Callable[[int, int, float, float], nn.Module]] = {
    "bernoulli": lambda n_in, n_out, var_floor, obs_variance: BernoulliHead(n_in, n_out),
    "gaussian": lambda n_in, n_out, var_floor, obs_variance: GaussianHead(n_in, n_out, var_floor),
    **DECODER_VARIANCE_HEADS,
}


def make_observation_head(kind: str, in_features: int, out_features: int, var_floor: float,
                          obs_variance: float = 0.5, floor: PixelVarianceFloor = PixelVarianceFloor()) -> nn.Module:
    """The head of p(x | .), chosen by name from OBSERVATION_HEADS; the per-pixel variance heads
    (PIXEL_FLOOR_HEADS) also get the floor rule of their variance."""
    if kind in PIXEL_FLOOR_HEADS:
        return PIXEL_FLOOR_HEADS[kind](in_features, out_features, var_floor, obs_variance, floor)
    if kind not in OBSERVATION_HEADS:
        raise ValueError(f"unknown observation model {kind!r}; choose one of {sorted(OBSERVATION_HEADS)}")
    return OBSERVATION_HEADS[kind](in_features, out_features, var_floor, obs_variance)
