"""The ELBO (LVAE eqs. 4-5, 20) and the importance-weighted bound L_K (eq. 6) for training.

Written once over out.px and out.latents, so they hold for every model that honours the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from vaelab.distributions import kl_estimate, kl_per_unit, log_mean_exp
from vaelab.models.base import ModelOutput, repeat_samples, run_model


@dataclass
class Objective:
    """What an objective returns. Per-example tensors are (B,), detached except `loss`."""

    loss: Tensor  # scalar to minimise: -mean over the batch of the (beta-weighted) bound
    bound: Tensor  # (B,) the true bound (beta = 1): the ELBO, or L_K when iw_samples > 1
    reconstruction: Tensor  # (B,) E_q[log p(x | z)]
    kl_per_layer: dict[str, Tensor] = field(default_factory=dict)  # name -> (B,)
    kl_per_unit: dict[str, Tensor] = field(default_factory=dict)  # name -> (D,), batch mean; factorised sites only

    @property
    def kl(self) -> Tensor:
        """(B,) total KL(q(z|x) || p(z)) estimate."""
        return torch.stack(list(self.kl_per_layer.values())).sum(0)


def log_weights(out: ModelOutput, x: Tensor, beta: float = 1.0) -> Tensor:
    """log w = log p(x|z) + beta * sum_sites [log p(z) - log q(z)], shape (S*B,) for x of shape (S*B, D)."""
    log_w = out.px.log_prob(x)
    for site in out.latents:
        log_w = log_w + beta * (site.p.log_prob(site.z) - site.q.log_prob(site.z))
    return log_w


def elbo(model: nn.Module, x: Tensor, beta: float = 1.0, eq_samples: int = 1, iw_samples: int = 1) -> Objective:
    """The training objective for a batch x of shape (B, D).

    iw_samples = 1: the ELBO with the analytic KL of each site where the pair has one (Monte Carlo
    otherwise), beta-weighted for warm-up, averaged over eq_samples draws.
    iw_samples = K > 1: L_K of eq. 6 with beta on the prior/posterior ratio, averaged over eq_samples.
    The gradient of logsumexp weights each sample's gradient by its normalised weight, with the weights
    themselves held constant, as the IWAE estimator requires.
    """
    if eq_samples < 1 or iw_samples < 1:
        raise ValueError(f"eq_samples and iw_samples must be >= 1, got {eq_samples} and {iw_samples}")
    batch = x.shape[0]
    n = eq_samples * iw_samples
    out = run_model(model, x, n_samples=n)
    xs = repeat_samples(x, n)  # (n*B, D)
    log_px = out.px.log_prob(xs)  # (n*B,)
    kl_layers, per_unit = {}, {}  # name -> (n*B,) and name -> (D,)
    for s in out.latents:
        unit = kl_per_unit(s.q, s.p, s.z, s.analytic_kl)  # (n*B, D), or None where q does not factorise
        if unit is None:
            kl_layers[s.name] = kl_estimate(s.q, s.p, s.z, s.analytic_kl)
        else:  # one KL computation serves both the layer and its units
            kl_layers[s.name] = unit.sum(-1)
            per_unit[s.name] = unit.detach().mean(0)
    if iw_samples == 1:
        kl_total = sum(kl_layers.values(), torch.zeros_like(log_px))
        train_bound = (log_px - beta * kl_total).view(eq_samples, batch).mean(0)
        true_bound = (log_px - kl_total).detach().view(eq_samples, batch).mean(0)
    else:
        log_w = log_weights(out, xs, beta).view(eq_samples, iw_samples, batch)
        train_bound = log_mean_exp(log_w, dim=1).mean(0)
        with torch.no_grad():
            true_log_w = log_weights(out, xs, 1.0).view(eq_samples, iw_samples, batch)
            true_bound = log_mean_exp(true_log_w, dim=1).mean(0)
    per_example = lambda t: t.detach().view(n, batch).mean(0)  # noqa: E731
    return Objective(
        loss=-train_bound.mean(),
        bound=true_bound,
        reconstruction=per_example(log_px),
        kl_per_layer={k: per_example(v) for k, v in kl_layers.items()},
        kl_per_unit=per_unit,
    )
