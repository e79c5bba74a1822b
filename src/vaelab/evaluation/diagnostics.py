"""Latent diagnostics over a data set: KL per layer and per unit, active units (LVAE section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vaelab.models.base import run_model
from vaelab.objectives import elbo


@dataclass
class BoundSummary:
    elbo: Tensor  # (N,) L_1 with the analytic KL where available
    reconstruction: Tensor  # (N,)
    kl_per_layer: dict[str, Tensor]  # name -> (N,)
    kl_per_unit: dict[str, Tensor]  # name -> (D,), mean over the data set
    posterior_mean: dict[str, Tensor]  # name -> (N, D): E_q[z] averaged over the samples of the layers above


@torch.no_grad()
def summarise_bounds(model: nn.Module, x: Tensor, batch_size: int = 100, mean_samples: int = 10) -> BoundSummary:
    """One ELBO pass plus posterior means, in eval mode (restores the mode)."""
    was_training = model.training
    model.eval()
    parts: dict[str, list] = {"elbo": [], "rec": []}
    kl_layer: dict[str, list] = {}
    kl_unit: dict[str, Tensor] = {}
    means: dict[str, list] = {}
    try:
        for xb in x.split(batch_size):
            obj = elbo(model, xb)
            parts["elbo"].append(obj.bound)
            parts["rec"].append(obj.reconstruction)
            for name, kl in obj.kl_per_layer.items():
                kl_layer.setdefault(name, []).append(kl)
            for name, kl in obj.kl_per_unit.items():
                kl_unit[name] = kl_unit.get(name, 0) + kl * xb.shape[0]
            out = run_model(model, xb, n_samples=mean_samples)
            for site in out.latents:
                try:
                    m = site.q.mean
                except NotImplementedError:  # e.g. a flow posterior: fall back to the sample mean
                    m = site.z
                means.setdefault(site.name, []).append(m.view(mean_samples, xb.shape[0], -1).mean(0))
    finally:
        model.train(was_training)
    n = x.shape[0]
    return BoundSummary(
        elbo=torch.cat(parts["elbo"]),
        reconstruction=torch.cat(parts["rec"]),
        kl_per_layer={k: torch.cat(v) for k, v in kl_layer.items()},
        kl_per_unit={k: v / n for k, v in kl_unit.items()},
        posterior_mean={k: torch.cat(v) for k, v in means.items()},
    )


def active_units(posterior_mean: dict[str, Tensor], threshold: float = 0.01) -> dict[str, int]:
    """Units u with Cov_x(E_q[u]) > threshold (Burda et al.; LVAE Fig. 4), counted per layer."""
    return {name: int((m.var(dim=0) > threshold).sum()) for name, m in posterior_mean.items()}


def standard_error(values: Tensor) -> float:
    """Standard error of the mean of per-example values."""
    return float(values.std() / values.shape[0] ** 0.5) if values.shape[0] > 1 else float("nan")


@torch.no_grad()
def sample_latents(model: nn.Module, x: Tensor, batch_size: int = 500) -> dict[str, Tensor]:
    """One sample z ~ q(z_i | .) per example for every stochastic site, name -> (N, D_i), in eval mode.

    These are the points of LVAE Fig. 6 (and, for sites named a..., the auxiliary space of ADGM Fig. 4b).
    """
    was_training = model.training
    model.eval()
    samples: dict[str, list[Tensor]] = {}
    try:
        for xb in x.split(batch_size):
            for site in run_model(model, xb).latents:
                samples.setdefault(site.name, []).append(site.z.reshape(xb.shape[0], -1))
    finally:
        model.train(was_training)
    return {name: torch.cat(parts) for name, parts in samples.items()}
