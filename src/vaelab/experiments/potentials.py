"""Fitting a 2-D potential (ADGM section 4.1, eq. 18, Fig. 2a-b): a Gaussian q versus an auxiliary q.

For the unnormalised target f(z) = exp(-U(z)) (distributions/potentials.py) both posteriors give a lower
bound on log Z, compared with log Z from grid integration:
    Gaussian:   log Z >= E_q(z)[log f(z) - log q(z)]
    auxiliary:  log Z >= E_q(a) q(z|a)[log f(z) + log p(a|z) - log q(a) - log q(z|a)]      (eq. 18)
Both are written as Latent sites (the potential is z's "prior") and share one bound. Toy networks as in the
paper: three hidden layers of 20 units, dim(a) = 4, dim(z) = 2. The log-density of the target is annealed
from 0.01 to 1 over the first half of the steps (Rezende & Mohamed 2015); bounds are reported at weight 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vaelab.distributions.potentials import Potential, grid_log_normaliser
from vaelab.layers import MLP
from vaelab.layers.heads import diagonal_normal
from vaelab.models import Latent
from vaelab.models.conditional import gaussian_head, glorot_


class GaussianPosterior(nn.Module):
    """q(z) = N(mu, diag exp(log_var)), learned."""

    def __init__(self) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.randn(2))  # off the origin, a saddle of the symmetric targets
        self.log_var = nn.Parameter(torch.zeros(2))

    def forward(self, n: int, k: int) -> list[Latent]:
        q = diagonal_normal(self.mean.expand(n, 2), self.log_var.exp().expand(n, 2))
        z = q.rsample()
        return [Latent("z", z, q, Potential(k, n))]


class AuxiliaryPosterior(nn.Module):
    """q(a) q(z|a) with p(a|z): q(a) = N(mu_a, diag var_a) learned, the conditionals MLPs (3 x 20)."""

    def __init__(self, aux: int = 4, hidden: int = 20, layers: int = 3) -> None:
        super().__init__()
        self.a_mean = nn.Parameter(torch.zeros(aux))
        self.a_log_var = nn.Parameter(torch.zeros(aux))
        self.q_z = nn.Sequential(MLP(aux, [hidden] * layers, "relu"), gaussian_head(hidden, 2, 0.0))
        self.p_a = nn.Sequential(MLP(2, [hidden] * layers, "relu"), gaussian_head(hidden, aux, 0.0))
        glorot_(self)

    def forward(self, n: int, k: int) -> list[Latent]:
        qa = diagonal_normal(self.a_mean.expand(n, -1), self.a_log_var.exp().expand(n, -1))
        a = qa.rsample()
        qz = self.q_z(a)
        z = qz.rsample()
        return [Latent("a", a, qa, self.p_a(z), analytic_kl=False), Latent("z", z, qz, Potential(k, n))]


POSTERIORS = {"gaussian": GaussianPosterior, "auxiliary": AuxiliaryPosterior}


def log_weights(sites: list[Latent], beta: float = 1.0) -> Tensor:
    """sum_sites [log p - log q] per draw, (n,); beta weighs log f(z) (the potential site)."""
    out = torch.zeros(sites[0].z.shape[0])
    for s in sites:
        weight = beta if isinstance(s.p, Potential) else 1.0
        out = out + weight * s.p.log_prob(s.z) - s.q.log_prob(s.z)
    return out


@dataclass
class PotentialFit:
    potential: int
    posterior: str
    log_z: float  # exact, grid
    bound: float  # E[log w], 1 sample per estimate
    bound_se: float
    iw_bound: float  # log mean exp over 100 draws (tighter)
    samples: Tensor  # (n, 2) draws of z for the density plot


def fit_potential(k: int, posterior: str, steps: int = 3000, batch: int = 256, lr: float = 3e-3,
                  seed: int = 0, n_eval: int = 20000, anneal_from: float = 1.0) -> PotentialFit:
    """Maximise the bound on log Z for potential k; return it beside the exact log Z."""
    torch.manual_seed(seed)
    model = POSTERIORS[posterior]()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        beta = min(1.0, anneal_from + (1 - anneal_from) * step / max(1, steps // 2))
        loss = -log_weights(model(batch, k), beta).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        sites = model(n_eval, k)
        lw = log_weights(sites)
        iw = torch.logsumexp(lw.view(-1, 100).double(), 1) - math.log(100)
    return PotentialFit(k, posterior, grid_log_normaliser(k), float(lw.mean()), float(lw.std() / n_eval ** 0.5),
                        float(iw.mean()), sites[-1].z)


def plot_potentials(fits: list[PotentialFit], path) -> None:
    """Fig. 2a-b for every potential: the true density, and the densities of Gaussian and auxiliary samples."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from vaelab.distributions.potentials import energy

    ks = sorted({f.potential for f in fits})
    fig, axes = plt.subplots(len(ks), 3, figsize=(9, 3 * len(ks)), squeeze=False)
    grid = torch.linspace(-4, 4, 200)
    z = torch.stack(torch.meshgrid(grid, grid, indexing="xy"), -1)
    for row, k in zip(axes, ks):
        row[0].imshow(torch.exp(-energy(k, z)).numpy(), extent=(-4, 4, -4, 4), origin="lower", cmap="viridis")
        row[0].set_title(f"U{k}: exp(-U), log Z = {grid_log_normaliser(k):.3f}", fontsize=8)
        for ax, name in zip(row[1:], ("gaussian", "auxiliary")):
            f = next(f for f in fits if f.potential == k and f.posterior == name)
            ax.hist2d(f.samples[:, 0].numpy(), f.samples[:, 1].numpy(), bins=100, range=[[-4, 4], [-4, 4]],
                      cmap="viridis")
            ax.set_title(f"{name} q: bound {f.bound:.3f}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_potentials(out_dir, potentials: tuple[int, ...] = (1, 2, 3, 4), steps: int = 3000,
                   seeds: tuple[int, ...] = (0, 1)) -> list[dict]:
    """Fit every potential with both posteriors (best bound over seeds); write potentials.json and .png."""
    import json
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fits, rows = [], []
    for k in potentials:
        for name in POSTERIORS:
            tries = [fit_potential(k, name, steps, seed=s) for s in seeds]
            best = max(tries, key=lambda f: f.bound)  # every try is a lower bound: the highest is the tightest
            fits.append(best)
            rows.append({"potential": k, "posterior": name, "log_z": best.log_z, "bound": best.bound,
                         "bound_se": best.bound_se, "gap": best.log_z - best.bound, "iw_bound_k100": best.iw_bound,
                         "bound_per_seed": [f.bound for f in tries], "steps": steps})
    plot_potentials(fits, out / "potentials.png")
    (out / "potentials.json").write_text(json.dumps(rows, indent=2))
    return rows
