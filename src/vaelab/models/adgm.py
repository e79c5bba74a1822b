"""The auxiliary deep generative model (ADGM, Maaløe et al. 2016, eqs. 3-9).

Generative: p(y) p(z) p(a | z, y, x) p(x | y, z); inference: q(a | x) q(y | a, x) q(z | a, y, x).
Five networks (section 3), each two hidden layers with mean and log-variance heads, Glorot init. The
inference model is shared with the SDGM (sdgm.py), which only changes the generative side.
Eqs. 5 and 24 write p(a | z, y, x), the default; section 3 states that the experiments used
p(a | z, y), as the authors' code does: `aux_reads_x: false`. With x among its parents p(a | .) can match
q(a | x) without y or z, so a need carry nothing about the class (benchmarks/results/adgm_moons.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP
from vaelab.layers.heads import diagonal_normal
from vaelab.models.base import Latent, ModelOutput, repeat_samples
from vaelab.models.conditional import ConditionalMLP, gaussian_head, glorot_, observation_head
from vaelab.models.semisupervised import (AuxiliaryParams, LabelledModel, Rows, label_site, repeat_gaussian,
                                          standard_normal)


@dataclass
class Inferred:
    """One pass of the inference model, tensors at their own resolution (see semisupervised.Rows)."""

    x: Tensor  # (1, [1,] B, D) per example
    y: Tensor  # one-hot, (C, 1, 1, C) or (1, B, C)
    a: Tensor  # ([1,] S, B, D_a) per sample
    qa: Distribution  # q(a|x) on every row
    logits: Tensor  # ([1,] S, B, C) of q(y|a,x)
    z: Tensor  # (*rows, D_z)
    qz: Distribution  # q(z|a,y,x) on every row


class AuxiliaryInference(nn.Module):
    """q(a|x) q(y|a,x) q(z|a,y,x) (ADGM eqs. 7-9)."""

    def __init__(self, input_dim: int, p: AuxiliaryParams) -> None:
        super().__init__()
        h = p.hidden[-1]
        self.params = p
        self.q_a = MLP(input_dim, list(p.hidden), p.activation, p.batch_norm)
        self.q_a_head = gaussian_head(h, p.auxiliary, p.var_floor)
        self.q_y = ConditionalMLP((input_dim, p.auxiliary), p.hidden, p.activation, p.batch_norm)
        self.q_y_head = nn.Linear(h, p.classes)
        self.q_z = ConditionalMLP((input_dim, p.auxiliary, p.classes), p.hidden, p.activation, p.batch_norm)
        self.q_z_head = gaussian_head(h, p.latent, p.var_floor)

    def q_a_params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, variance) of q(a|x), each (B, D_a)."""
        return self.q_a_head.params(self.q_a(x))

    def logits(self, x: Tensor, a: Tensor) -> Tensor:
        """Logits of q(y|a,x) for broadcastable x (..., D) and a (..., D_a)."""
        return self.q_y_head(self.q_y(x, a))

    def forward(self, x: Tensor, y: Tensor | None, rows: Rows) -> Inferred:
        mean, var = self.q_a_params(x)  # once per example
        mean, var = repeat_samples(mean, rows.samples), repeat_samples(var, rows.samples)  # (S*B, D_a)
        a = diagonal_normal(mean, var).rsample()
        xe, ae, ye = rows.per_example(x), rows.per_sample(a), rows.one_hot(y, x)
        qz = self.q_z_head(rows.flat(self.q_z(xe, ae, ye)))
        z = qz.rsample()
        return Inferred(xe, ye, ae, repeat_gaussian(mean, var, rows), self.logits(xe, ae), rows.unflat(z), qz)

    @torch.no_grad()
    def classify(self, x: Tensor, n_samples: int) -> Tensor:
        """q(y|a,x) averaged over n_samples draws of a ~ q(a|x), (B, C)."""
        mean, var = self.q_a_params(x)
        a = diagonal_normal(repeat_samples(mean, n_samples), repeat_samples(var, n_samples)).sample()
        probs = torch.softmax(self.logits(repeat_samples(x, n_samples), a), -1)
        return probs.view(n_samples, x.shape[0], -1).mean(0)

    @torch.no_grad()
    def encode_z(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean of q(z | a, y, x) at a = mean of q(a|x), (B, D_z)."""
        a, _ = self.q_a_params(x)
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(x.dtype)
        return self.q_z_head.params(self.q_z(x, a, y1))[0]


def auxiliary_output(inf: Inferred, rows: Rows, y: Tensor | None, px: Distribution, pa: Distribution,
                     latent: int) -> ModelOutput:
    """The contract's output for an auxiliary model: sites a and z, and the label site."""
    a = rows.flat(inf.a)
    z = inf.z.reshape(-1, inf.z.shape[-1])
    latents = [
        Latent("a", a, inf.qa, pa, analytic_kl=False),  # p(a|z,.) reads z, drawn after a
        Latent("z", z, inf.qz, standard_normal(z.shape[0], latent, z)),
    ]
    return ModelOutput(px=px, latents=latents, label=label_site(rows, y, inf.logits))


class AuxiliaryModel(LabelledModel):
    """Shared plumbing of the ADGM and the SDGM: the inference model and classification."""

    Params = AuxiliaryParams

    def __init__(self, input_dim: int, params: AuxiliaryParams) -> None:
        super().__init__()
        self.params = params
        self.inference = AuxiliaryInference(input_dim, params)

    def classify(self, x: Tensor, n_samples: int = 1) -> Tensor:
        """(B, C): q(y|a,x) averaged over n_samples draws of a."""
        return self.inference.classify(x, n_samples)

    def encode_z(self, x: Tensor, y: Tensor) -> Tensor:
        return self.inference.encode_z(x, y)

    @torch.no_grad()
    def auxiliary_mean(self, x: Tensor) -> Tensor:
        """Mean of q(a|x), (B, D_a): the auxiliary space of ADGM Fig. 2d and 4b."""
        return self.inference.q_a_params(x)[0]


class ADGM(AuxiliaryModel):
    """p(y) p(z) p(a|z,y,x) (or p(a|z,y)) p(x|y,z) with q(a|x) q(y|a,x) q(z|a,y,x)."""

    def __init__(self, input_dim: int, params: AuxiliaryParams) -> None:
        super().__init__(input_dim, params)
        p = params
        self.p_x = ConditionalMLP((p.classes, p.latent), p.hidden, p.activation, p.batch_norm)
        self.p_x_head = observation_head(p.observation, p.hidden[-1], input_dim, p.obs_var_floor)
        x_in = (input_dim,) if p.aux_reads_x else ()
        self.p_a = ConditionalMLP((*x_in, p.classes, p.latent), p.hidden, p.activation, p.batch_norm)
        self.p_a_head = gaussian_head(p.hidden[-1], p.auxiliary, p.var_floor)
        glorot_(self)

    def forward(self, x: Tensor, y: Tensor | None = None, n_samples: int = 1) -> ModelOutput:
        rows = self.rows(x, y, n_samples)
        inf = self.inference(x, y, rows)
        px = self.p_x_head(rows.flat(self.p_x(inf.y, inf.z)))
        x_in = (inf.x,) if self.params.aux_reads_x else ()
        pa = self.p_a_head(rows.flat(self.p_a(*x_in, inf.y, inf.z)))
        return auxiliary_output(inf, rows, y, px, pa, self.params.latent)

    def decode(self, z: Tensor, y: Tensor) -> Distribution:
        """p(x | y, z) for z (n, D_z) and labels y (n,)."""
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(z.dtype)
        return self.p_x_head(self.p_x(y1, z))
