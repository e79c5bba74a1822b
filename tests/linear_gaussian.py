"""A linear-Gaussian latent-variable model honouring the vaelab contract, with an exact log p(x).

p(z) = N(0, I_d), p(x | z) = N(W z + b, s2 I_D). With W^T W diagonal the exact posterior is diagonal:
Sigma = (I + W^T W / s2)^-1, mu = Sigma W^T (x - b) / s2, so q can be set to it exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Independent, MultivariateNormal, Normal

from vaelab.models import Latent, ModelOutput


class LinearGaussian(nn.Module):
    def __init__(self, D: int = 5, d: int = 2, s2: float = 0.5, exact: bool = True, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        q_, _ = torch.linalg.qr(torch.randn(D, d, generator=g, dtype=torch.float64))
        W = q_ * torch.tensor([2.0, 0.7, 1.3, 0.4][:d], dtype=torch.float64)  # orthogonal columns
        self.W, self.b, self.s2 = W, torch.randn(D, generator=g, dtype=torch.float64), s2
        sigma = torch.linalg.inv(torch.eye(d, dtype=torch.float64) + W.T @ W / s2)
        self.A = sigma @ W.T / s2
        self.c = -self.A @ self.b
        self.v = torch.diagonal(sigma).clone()
        if not exact:  # a deliberately poor posterior: shifted mean, inflated variance
            self.c = self.c + 0.5
            self.v = self.v * 3.0

    def forward(self, x: Tensor) -> ModelOutput:
        q = Independent(Normal(x @ self.A.T + self.c, self.v.sqrt().expand(x.shape[0], -1)), 1)
        z = q.rsample()
        p = Independent(Normal(torch.zeros_like(z), torch.ones_like(z)), 1)
        px = Independent(Normal(z @ self.W.T + self.b, torch.full_like(x, self.s2 ** 0.5)), 1)
        return ModelOutput(px=px, latents=[Latent("z", z, q, p)])

    def exact_log_px(self, x: Tensor) -> Tensor:
        cov = self.W @ self.W.T + self.s2 * torch.eye(self.W.shape[0], dtype=torch.float64)
        return MultivariateNormal(self.b, cov).log_prob(x)

    def sample_x(self, n: int, seed: int = 1) -> Tensor:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.W.shape[1], generator=g, dtype=torch.float64)
        return z @ self.W.T + self.b + self.s2 ** 0.5 * torch.randn(n, self.W.shape[0], generator=g, dtype=torch.float64)
