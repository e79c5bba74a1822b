"""Gaussian decoders p(x | z) = N(x | f(z), sigma^2) with fixed, learned, closed-form and input-dependent
variance (Balancing-ELBO paper, EQUATIONS.md §3: eqs. 6-11 and Algorithm 1).

Every head maps the decoder's last hidden layer d (N, H) to Independent(Normal(mu, sigma), 1) over the D
pixels, with mu = Linear(d) (linear mean, as the LVAE paper's Gaussian output). They differ in sigma^2:

    gaussian_fixed        sigma^2 = obs_variance (1/2: the plain VAE's weighting; 1: a beta-VAE with beta 2; eq. 9)
    gaussian_global       one sigma^2 learned by gradient, as an unconstrained log-variance (eqs. 6-8)
    gaussian_closed_form  one sigma^2 held in a buffer and set to the mean squared error during training (eq. 10)
    gaussian_pixel        one learned sigma^2_d per pixel, the same for every z
    gaussian_input        sigma^2_d(z) per pixel (eq. 11), trained in two stages (Algorithm 1): first a
                          closed-form global sigma^2; then sigma^2_d(z) = bound + exp(Linear(d)), where the
                          bound is the stage-one optimum sigma*^2 by default (model.pixel_var_floor: global).

The per-pixel heads (gaussian_pixel, gaussian_input) take their lower bound from a PixelVarianceFloor rule
(pixel_variance_floor.py): global sigma*^2 (the paper's), a fraction of it, a fixed variance, or none.

Floors (obs_var_floor) apply to every variance here, once. Buffers (the closed-form sigma^2, the stage and the
stage-one sigma*^2 of the two-stage head, from which its floor is made) live in the state dict, so checkpoints
and resume keep them.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal

from vaelab.layers.pixel_variance_floor import PixelVarianceFloor

LOG_VARIANCE_CLAMP = (-30.0, 10.0)
# At the switch to stage two the predicted excess variance starts at this fraction of sigma*^2, so the
# ELBO barely moves when the input-dependent head takes over (a jump to 2 sigma*^2 would cost ~0.1 nat a pixel).
STAGE_TWO_INITIAL_EXCESS = 0.1


def _normal(mu: Tensor, var: Tensor) -> Distribution:
    """Independent(Normal(mu, sqrt(var)), 1): log_prob sums the D pixels of each example, shape (N,)."""
    return Independent(Normal(mu, var.expand_as(mu).sqrt()), 1)


class GaussianDecoder(nn.Module):
    """Base of the Gaussian decoders: mean = Linear(d); subclasses give the variance."""

    def __init__(self, in_features: int, out_features: int, var_floor: float) -> None:
        super().__init__()
        if var_floor < 0:
            raise ValueError(f"model.obs_var_floor must be >= 0, got {var_floor}")
        self.mean = nn.Linear(in_features, out_features)
        self.var_floor = var_floor

    def shared_variance(self) -> Tensor:
        """sigma^2 where it does not depend on z: a scalar or (D,)."""
        raise NotImplementedError

    def variance(self, d: Tensor) -> Tensor:
        """sigma^2, broadcastable to (N, D)."""
        return self.shared_variance()

    def params(self, d: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, variance), each (N, D)."""
        mu = self.mean(d)
        return mu, self.variance(d).expand_as(mu)

    def forward(self, d: Tensor) -> Distribution:
        return _normal(*self.params(d))

    def summary(self) -> dict[str, float]:
        """What the metrics record of an epoch shows of this head (sigma^2 where it does not depend on z)."""
        return {"obs_variance": float(self.shared_variance().detach().mean())}


class GaussianFixedVariance(GaussianDecoder):
    """sigma^2 = obs_variance for every pixel, never trained (eq. 9: 1/2 gives the plain VAE's loss)."""

    def __init__(self, in_features: int, out_features: int, var_floor: float, obs_variance: float) -> None:
        super().__init__(in_features, out_features, var_floor)
        self.register_buffer("fixed_variance", torch.tensor(max(obs_variance, var_floor)))

    def shared_variance(self) -> Tensor:
        return self.fixed_variance


class GaussianGlobalVariance(GaussianDecoder):
    """One sigma^2 = floor + exp(log_variance), learned by gradient with the networks (eqs. 6-9)."""

    def __init__(self, in_features: int, out_features: int, var_floor: float, obs_variance: float) -> None:
        super().__init__(in_features, out_features, var_floor)
        self.log_variance = nn.Parameter(torch.tensor(math.log(obs_variance)))

    def shared_variance(self) -> Tensor:
        return self.var_floor + torch.exp(self.log_variance.clamp(*LOG_VARIANCE_CLAMP))


class GaussianPixelVariance(GaussianDecoder):
    """sigma^2_d = bound + exp(log_variance_d), one learned value per pixel, independent of z.

    The bound is obs_var_floor, or the fixed variance of the floor rule `fixed` (this head has no sigma*^2).
    """

    def __init__(self, in_features: int, out_features: int, var_floor: float, obs_variance: float,
                 floor: PixelVarianceFloor = PixelVarianceFloor()) -> None:
        super().__init__(in_features, out_features, var_floor)
        self.lower_bound = floor.bound_without_global(var_floor)
        self.log_variance = nn.Parameter(torch.full((out_features,), math.log(obs_variance)))

    def shared_variance(self) -> Tensor:
        return self.lower_bound + torch.exp(self.log_variance.clamp(*LOG_VARIANCE_CLAMP))


class GaussianClosedFormVariance(GaussianDecoder):
    """One sigma^2 held in a buffer and set by the training loop to its closed-form optimum (eq. 10).

    No gradient reaches sigma^2: after each step the loop calls set_from_reconstruction with the batch's
    reconstruction term, from which the batch's mean squared error is recovered exactly (see there).
    """

    def __init__(self, in_features: int, out_features: int, var_floor: float, obs_variance: float) -> None:
        super().__init__(in_features, out_features, var_floor)
        self.register_buffer("global_variance", torch.tensor(max(obs_variance, var_floor)))

    @property
    def closed_form_active(self) -> bool:
        """True while sigma^2 follows eq. 10 (always, for this head)."""
        return True

    def shared_variance(self) -> Tensor:
        return self.global_variance

    @torch.no_grad()
    def set_from_reconstruction(self, log_px: Tensor, dim: int) -> float:
        """Set sigma^2 to the mean squared error of the batch whose log p(x|z) was computed with it (eq. 10).

        log_px: (B,) E_q[log N(x | f(z), sigma^2 I)] with the current sigma^2, over D = dim pixels. It is
        affine in the squared error: log_px = -D/2 log(2 pi sigma^2) - SSE / (2 sigma^2), so
        MSE = -2 sigma^2 (mean(log_px) + D/2 log(2 pi sigma^2)) / D exactly, with no second forward pass.
        Returns the new sigma^2.
        """
        var = self.global_variance.double()
        mse = -2.0 * var * (log_px.double().mean() + 0.5 * dim * torch.log(2 * math.pi * var)) / dim
        self.global_variance.copy_(mse.clamp_min(self.var_floor).to(self.global_variance.dtype))
        return float(self.global_variance)


class GaussianInputVariance(GaussianClosedFormVariance):
    """sigma^2_d(z) per pixel (eq. 11) trained by the two-stage procedure of Algorithm 1.

    Stage one (stage == 0): a closed-form global sigma^2, exactly as GaussianClosedFormVariance.
    Stage two (after start_stage_two): sigma^2_d(z) = bound + exp(Linear(d)); sigma*^2, the stage-one
    optimum, stays frozen in the global_variance buffer and the floor rule makes the bound of it (by default
    sigma*^2 itself); the networks continue from stage one. The variance layer receives no gradient during
    stage one, so the optimiser first sees it at the switch. The bound is computed from the buffer and the
    rule, so the state dict holds the same entries whatever the rule.
    """

    def __init__(self, in_features: int, out_features: int, var_floor: float, obs_variance: float,
                 floor: PixelVarianceFloor = PixelVarianceFloor()) -> None:
        super().__init__(in_features, out_features, var_floor, obs_variance)
        self.floor = floor
        self.log_excess = nn.Linear(in_features, out_features)
        self.register_buffer("stage", torch.tensor(0))

    @property
    def closed_form_active(self) -> bool:
        return int(self.stage) == 0

    @property
    def lower_bound(self) -> float:
        """The smallest variance the head can predict: the floor rule's bound in stage two (sigma*^2 for
        the rule global), the current global sigma^2 before."""
        if self.closed_form_active:
            return float(self.global_variance)
        return self.floor.bound(float(self.global_variance), self.var_floor)

    def variance(self, d: Tensor) -> Tensor:
        if self.closed_form_active:
            return self.global_variance
        return self.lower_bound + torch.exp(self.log_excess(d).clamp(*LOG_VARIANCE_CLAMP))

    def summary(self) -> dict[str, float]:
        if self.closed_form_active:
            return {"obs_variance": float(self.global_variance), "observation_stage": 1}
        return {"obs_variance_floor": self.lower_bound, "obs_variance_stage_one": float(self.global_variance),
                "observation_stage": 2}

    @torch.no_grad()
    def start_stage_two(self) -> None:
        """Freeze sigma*^2 and start the input-dependent variance at (1 + STAGE_TWO_INITIAL_EXCESS) sigma*^2
        (bound + STAGE_TWO_INITIAL_EXCESS sigma*^2 where the bound lies above sigma*^2), whatever the rule."""
        self.stage.fill_(1)
        sigma2 = float(self.global_variance)
        excess = STAGE_TWO_INITIAL_EXCESS * sigma2 + max(sigma2 - self.lower_bound, 0.0)
        nn.init.zeros_(self.log_excess.weight)
        nn.init.constant_(self.log_excess.bias, math.log(excess))


# name -> factory(in_features, out_features, var_floor, obs_variance)
DECODER_VARIANCE_HEADS: dict[str, Callable[[int, int, float, float], nn.Module]] = {
    "gaussian_fixed": GaussianFixedVariance,
    "gaussian_global": GaussianGlobalVariance,
    "gaussian_closed_form": GaussianClosedFormVariance,
    "gaussian_pixel": GaussianPixelVariance,
    "gaussian_input": GaussianInputVariance,
}
# the heads whose factory also takes a PixelVarianceFloor (model.pixel_var_floor) as a fifth argument
PIXEL_FLOOR_HEADS: dict[str, Callable[[int, int, float, float, PixelVarianceFloor], nn.Module]] = {
    "gaussian_pixel": GaussianPixelVariance,
    "gaussian_input": GaussianInputVariance,
}
