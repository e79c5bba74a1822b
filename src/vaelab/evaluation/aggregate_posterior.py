"""The aggregate posterior q(z) = (1/N) sum_n q(z | x_n) (Balancing-ELBO eq. 12), approximated by a Gaussian
mixture fitted by EM (eq. 13; scikit-learn's GaussianMixture), sampled from, and compared with the prior.

The mixture is fitted to the *top* latent z_L: for a one-layer model that is the only latent; for a
hierarchical model z_L ~ q(z_L | x) is drawn through the inference network (marginalising the layers below)
and generation then replaces only p(z_L) by the mixture, sampling z_{L-1} .. z_1 from the generative priors.

Saved without pickle: `aggregate_posterior.npz` (weights (K,), means (K, D), covariances (K, D, D)) and
`aggregate_posterior.json` (what it was fitted on).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, MixtureSameFamily, MultivariateNormal

from vaelab.files import atomic_write, write_text_atomic
from vaelab.models.base import Latent, ModelOutput, run_model

NPZ_FILE, JSON_FILE = "aggregate_posterior.npz", "aggregate_posterior.json"


@dataclass(eq=False)
class AggregatePosterior:
    """A Gaussian mixture over the top latent: weights (K,), means (K, D), full covariances (K, D, D)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def distribution(self, dtype: torch.dtype = torch.float64) -> Distribution:
        """The mixture as a torch Distribution: sample((n,)) -> (n, D), log_prob(z) -> (n,)."""
        as_tensor = lambda a: torch.from_numpy(a).to(dtype)  # noqa: E731
        comp = MultivariateNormal(as_tensor(self.means), covariance_matrix=as_tensor(self.covariances))
        return MixtureSameFamily(Categorical(probs=as_tensor(self.weights)), comp)

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The mixture's mean (D,) and covariance (D, D): sum_k w_k mu_k and sum_k w_k (S_k + mu_k mu_k^T) - m m^T."""
        w, mu = self.weights, self.means
        mean = w @ mu
        second = np.einsum("k,kij->ij", w, self.covariances) + np.einsum("k,ki,kj->ij", w, mu, mu)
        return mean, second - np.outer(mean, mean)

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        atomic_write(folder / NPZ_FILE,
                     lambda f: np.savez(f, weights=self.weights, means=self.means, covariances=self.covariances))
        write_text_atomic(folder / JSON_FILE, json.dumps(self.info, indent=2))

    @classmethod
    def load(cls, folder: str | Path) -> "AggregatePosterior":
        """Read a saved mixture (numpy arrays only: allow_pickle=False)."""
        folder = Path(folder)
        with np.load(folder / NPZ_FILE, allow_pickle=False) as f:
            arrays = {k: f[k] for k in ("weights", "means", "covariances")}
        return cls(**arrays, info=json.loads((folder / JSON_FILE).read_text()))

    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / NPZ_FILE).is_file() and (Path(folder) / JSON_FILE).is_file()


@torch.no_grad()
def top_latent_codes(model: nn.Module, x: Tensor, batch_size: int = 500, use_means: bool = False) -> Tensor:
    """One code of the top latent per example, (N, D_L): a sample z_L ~ q(z_L | x), or its mean E_q[z_L].

    Eval mode (restores the mode). The top site is the last of out.latents (the model contract's order).
    """
    was_training = model.training
    model.eval()
    try:
        codes = []
        for xb in x.split(batch_size):
            top = run_model(model, xb, n_samples=1).latents[-1]
            codes.append(top.q.mean if use_means else top.z)
    finally:
        model.train(was_training)
    return torch.cat(codes)


def fit_aggregate_posterior(codes: Tensor | np.ndarray, components: int = 32, covariance: str = "full",
                            seed: int = 0, info: dict[str, Any] | None = None) -> AggregatePosterior:
    """Fit a K-component Gaussian mixture by EM to codes (N, D) (eq. 13); diag covariances are stored as full."""
    z = np.asarray(codes, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < components:
        raise ValueError(f"the mixture needs at least {components} codes of shape (N, D), got {z.shape}; "
                         "lower eval.aggregate_components")
    gmm = GaussianMixture(components, covariance_type=covariance, random_state=seed, reg_covar=1e-6,
                          max_iter=200).fit(z)
    cov = gmm.covariances_ if covariance == "full" else np.stack([np.diag(c) for c in gmm.covariances_])
    meta = {"components": components, "covariance": covariance, "n_fit": int(z.shape[0]), "dim": int(z.shape[1]),
            "converged": bool(gmm.converged_), "em_iterations": int(gmm.n_iter_),
            "mean_log_density": float(gmm.score(z)), **(info or {})}
    return AggregatePosterior(gmm.weights_.copy(), gmm.means_.copy(), np.asarray(cov, dtype=np.float64), meta)


@torch.no_grad()
def kl_to_standard_normal(q: Distribution, n: int = 10000) -> tuple[float, float]:
    """KL(q || N(0, I)) by Monte Carlo over n draws of q (Balancing-ELBO Table 1): (estimate, standard error)."""
    z = q.sample((n,))  # (n, D)
    log_p = -0.5 * (z ** 2).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)
    terms = q.log_prob(z) - log_p  # (n,)
    return float(terms.mean()), float(terms.std() / math.sqrt(n))


class AggregatePrior(nn.Module):
    """A model whose top prior p(z_L) is replaced by the mixture, for L_K "with the approximate aggregate
    posterior" (Balancing-ELBO Table 3, second row of each data set). Honours the model contract; the KL of the
    top site has no closed form any more, so bounds estimate it by Monte Carlo."""

    def __init__(self, model: nn.Module, agg: AggregatePosterior) -> None:
        super().__init__()
        self.model = model
        self.agg = agg

    def forward(self, x: Tensor, n_samples: int = 1) -> ModelOutput:
        out = run_model(self.model, x, n_samples=n_samples)
        top = out.latents[-1]
        out.latents[-1] = Latent(top.name, top.z, top.q, self.agg.distribution(top.z.dtype))
        return out
