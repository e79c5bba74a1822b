"""The auxiliary VAE (AVAE) with L stochastic layers (ADGM eqs. 2 and 19-20), unsupervised.

Inference:  q(a, z | x) = q(a_1|x) q(z_1|a_1, x) prod_{i>=2} q(a_i|a_{i-1}, x) q(z_i|a_i, z_{i-1})
Generative: p(x, a, z) = p(x|z_1) p(z_L) p(a_L|z_L) prod_{i<L} p(z_i|z_{i+1}) p(a_i|z_{>=i})
Eq. 2 (L = 1) conditions the auxiliary's generative term on x as well, p(a|z, x); `aux_reads_x` (default
true) keeps x among the parents of every p(a_i|.), false gives eq. 20 exactly. p(a|.) must not be the prior
p(a), or the model falls back to a VAE (section 2.2).

Every site but z_L has a prior whose parents are drawn after it from q, so only z_L uses the analytic KL.
Trained like the Ladder VAE (warm-up, batch-norm): through the ordinary ELBO and L_K of vaelab.objectives.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP, GaussianHead
from vaelab.layers.heads import diagonal_normal
from vaelab.models.base import Latent, ModelOutput, repeat_samples
from vaelab.models.conditional import ConditionalMLP, glorot_, observation_head
from vaelab.models.semisupervised import standard_normal


@dataclass(frozen=True)
class AuxiliaryVAEParams:
    """Sizes from the bottom (layer 1) up; hidden[i] units in each of the two hidden layers of layer i's nets."""

    latent: tuple[int, ...] = (64, 32)  # dim(z_i) of each stochastic layer, bottom to top
    auxiliary: tuple[int, ...] = (64, 32)  # dim(a_i) of each stochastic layer, bottom to top
    hidden: tuple[int, ...] = (512, 256)  # one width per stochastic layer: every network of layer i has two hidden
                                          # layers of hidden[i] units
    activation: str = "leaky_relu"  # leaky_relu (slope 0.1) | tanh | relu
    batch_norm: bool = True  # batch-norm after every hidden linear layer
    observation: str = "bernoulli"  # p(x|z_1): bernoulli | gaussian (mean and variance heads, as `variance` says)
    variance: str = "logvar"  # Gaussian heads: logvar (ADGM eqs. 14-16) or softplus (LVAE eqs. 11-12)
    aux_reads_x: bool = True  # p(a_i | z_{>=i}, x) (eq. 2) rather than p(a_i | z_{>=i}) (eq. 20)
    var_floor: float = 1e-5  # floor of every latent variance
    obs_var_floor: float = 1e-4  # floor of a Gaussian observation variance

    def __post_init__(self) -> None:
        if not self.latent or len({len(self.latent), len(self.auxiliary), len(self.hidden)}) != 1:
            raise ValueError("model.latent, model.auxiliary and model.hidden need one size per stochastic layer, "
                             "e.g. latent: [64, 32], auxiliary: [64, 32], hidden: [512, 256]")
        if any(s <= 0 for s in (*self.latent, *self.auxiliary, *self.hidden)):
            raise ValueError("model.latent, model.auxiliary and model.hidden sizes must be positive integers")
        if self.variance not in ("logvar", "softplus"):
            raise ValueError(f"model.variance must be logvar or softplus, got {self.variance!r}")
        if self.var_floor < 0 or self.obs_var_floor < 0:
            raise ValueError("model.var_floor and model.obs_var_floor must be >= 0")

    @property
    def layers(self) -> int:
        return len(self.latent)


class AuxiliaryVAE(nn.Module):
    """The AVAE of eqs. 19-20; returns sites a1, z1, a2, z2, ... (bottom up)."""

    Params = AuxiliaryVAEParams

    def __init__(self, input_dim: int, params: AuxiliaryVAEParams) -> None:
        super().__init__()
        p = self.params = params
        L, act, bn = p.layers, p.activation, p.batch_norm
        net = lambda ins, i: ConditionalMLP(tuple(ins), (p.hidden[i], p.hidden[i]), act, bn)  # noqa: E731
        head = lambda i, d: GaussianHead(p.hidden[i], d, p.var_floor, p.variance)  # noqa: E731
        self.q_a = nn.ModuleList([MLP(input_dim, [p.hidden[0]] * 2, act, bn)] +
                                 [net((p.auxiliary[i - 1], input_dim), i) for i in range(1, L)])
        self.q_z = nn.ModuleList([net((p.auxiliary[0], input_dim), 0)] +
                                 [net((p.auxiliary[i], p.latent[i - 1]), i) for i in range(1, L)])
        self.q_a_heads = nn.ModuleList(head(i, p.auxiliary[i]) for i in range(L))
        self.q_z_heads = nn.ModuleList(head(i, p.latent[i]) for i in range(L))
        x_in = (input_dim,) if p.aux_reads_x else ()
        self.p_a = nn.ModuleList(net((*p.latent[i:], *x_in), i) for i in range(L))  # p(a_i | z_{>=i} [, x])
        self.p_a_heads = nn.ModuleList(head(i, p.auxiliary[i]) for i in range(L))
        self.p_z = nn.ModuleList(MLP(p.latent[i + 1], [p.hidden[i + 1]] * 2, act, bn) for i in range(L - 1))
        self.p_z_heads = nn.ModuleList(head(i + 1, p.latent[i]) for i in range(L - 1))
        self.p_x = MLP(p.latent[0], [p.hidden[0]] * 2, act, bn)
        self.p_x_head = observation_head(p.observation, p.hidden[0], input_dim, p.obs_var_floor, p.variance)
        glorot_(self)

    def infer(self, x: Tensor, n_samples: int) -> tuple[list[Tensor], list[Distribution], list[Tensor], list[Distribution]]:
        """Samples and posteriors of a_i and z_i, bottom up, each (S*B, D)."""
        xs = x.unsqueeze(0)  # (1, B, D): x-dependent products once per example, broadcast over samples
        view = lambda t: t.view(n_samples, x.shape[0], -1)  # noqa: E731  (S*B, D) -> (S, B, D)
        a_s, qa_s, z_s, qz_s = [], [], [], []
        for i in range(self.params.layers):
            if i == 0:
                m, v = self.q_a_heads[0].params(self.q_a[0](x))
                qa = diagonal_normal(repeat_samples(m, n_samples), repeat_samples(v, n_samples))
            else:
                qa = self.q_a_heads[i](self.q_a[i](view(a_s[-1]), xs).flatten(0, 1))
            a_s.append(qa.rsample())
            qa_s.append(qa)
            parent = xs if i == 0 else view(z_s[-1])
            qz = self.q_z_heads[i](self.q_z[i](view(a_s[-1]), parent).flatten(0, 1))
            z_s.append(qz.rsample())
            qz_s.append(qz)
        return a_s, qa_s, z_s, qz_s

    def forward(self, x: Tensor, n_samples: int = 1) -> ModelOutput:
        L = self.params.layers
        a_s, qa_s, z_s, qz_s = self.infer(x, n_samples)
        xs = repeat_samples(x, n_samples)
        latents = []
        for i in range(L):
            parents = [*z_s[i:], *([xs] if self.params.aux_reads_x else [])]
            pa = self.p_a_heads[i](self.p_a[i](*parents))
            latents.append(Latent(f"a{i + 1}", a_s[i], qa_s[i], pa, analytic_kl=False))
            pz = (standard_normal(z_s[i].shape[0], self.params.latent[i], x) if i == L - 1
                  else self.p_z_heads[i](self.p_z[i](z_s[i + 1])))
            latents.append(Latent(f"z{i + 1}", z_s[i], qz_s[i], pz, analytic_kl=i == L - 1))
        return ModelOutput(px=self.p_x_head(self.p_x(z_s[0])), latents=latents)

    @torch.no_grad()
    def generate(self, n: int) -> Distribution:
        """p(x | z_1) for n ancestral samples z_L -> ... -> z_1 (a is not needed to generate x)."""
        like = next(self.parameters())
        z = standard_normal(n, self.params.latent[-1], like).sample()
        for i in reversed(range(self.params.layers - 1)):
            z = self.p_z_heads[i](self.p_z[i](z)).sample()
        return self.p_x_head(self.p_x(z))
