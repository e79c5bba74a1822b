"""A semi-supervised linear-Gaussian model with exact posteriors, honouring the label-site contract.

p(y) = 1/C, p(z) = N(0, I_d), p(x | y, z) = N(W z + b_y, s2 I). With W^T W diagonal the exact q(z | x, y) is a
diagonal Gaussian, and q(y | x) = p(y | x) from the Gaussian marginals N(b_y, W W^T + s2 I). With them, every
importance weight equals log p(x, y), so -L(x, y) = log p(x, y) and -U(x) = log p(x) exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, MultivariateNormal, Normal

from vaelab.models import LabelSite, Latent, ModelOutput


class LabelledGaussian(nn.Module):
    takes_labels = True

    def __init__(self, D: int = 4, d: int = 2, C: int = 3, s2: float = 0.5, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        q_, _ = torch.linalg.qr(torch.randn(D, d, generator=g, dtype=torch.float64))
        self.W = q_ * torch.tensor([2.0, 0.7, 1.3][:d], dtype=torch.float64)
        self.b = 2 * torch.randn(C, D, generator=g, dtype=torch.float64)
        self.s2, self.C = s2, C
        sigma = torch.linalg.inv(torch.eye(d, dtype=torch.float64) + self.W.T @ self.W / s2)
        self.A, self.v = sigma @ self.W.T / s2, torch.diagonal(sigma).clone()
        self.marginal = MultivariateNormal(self.b, self.W @ self.W.T + s2 * torch.eye(D, dtype=torch.float64))

    def log_pxy(self, x: Tensor) -> Tensor:
        """(B, C) exact log p(x, y)."""
        return self.marginal.log_prob(x.unsqueeze(1)) - torch.log(torch.tensor(float(self.C)))

    def forward(self, x: Tensor, y: Tensor | None = None, n_samples: int = 1) -> ModelOutput:
        B = x.shape[0]
        reps = n_samples * (self.C if y is None else 1)
        yy = (torch.arange(self.C).repeat_interleave(n_samples * B) if y is None else y.repeat(n_samples))
        xs = x.repeat(reps, 1)
        q = Independent(Normal((xs - self.b[yy]) @ self.A.T, self.v.sqrt().expand(xs.shape[0], -1)), 1)
        z = q.rsample()
        p = Independent(Normal(torch.zeros_like(z), torch.ones_like(z)), 1)
        px = Independent(Normal(z @ self.W.T + self.b[yy], torch.full_like(xs, self.s2 ** 0.5)), 1)
        logits = self.log_pxy(x).repeat(reps, 1)  # q(y|x) = p(y|x), the same on every row of an example
        label = LabelSite(yy, Categorical(logits=logits), Categorical(logits=torch.zeros_like(logits)), self.C,
                          y is None)
        # Monte Carlo KL (analytic_kl=False): then every weight is exactly log p(x, y), not only on average
        return ModelOutput(px=px, latents=[Latent("z", z, q, p, analytic_kl=False)], label=label)
