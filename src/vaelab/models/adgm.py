"""The auxiliary deep generative model (ADGM, Maaløe et al. 2016, eqs. 3-9).

Generative: p(y) p(z) p(a | z, y, x) p(x | y, z); inference: q(a | x) q(y | a, x) q(z | a, y, x).
Five networks (section 3), each two hidden layers with mean and log-variance heads, Glorot init. The
inference model is shared with the SDGM (sdgm.py), which only changes the generative side.
Eqs. 5 and 24 write p(a | z, y, x), the default; section 3 states that the experiments used p(a | z, y):
`aux_reads_x: false`. With x among its parents p(a | .) can match q(a | x) without y or z, so a need carry
nothing about the class (benchmarks/results/adgm_moons.md).
The authors' MNIST code (ml-lab/auxiliary-deep-generative-models models/adgmssl.py) differs from the paper's
model: p(a) = N(0, I) (`aux_prior: standard_normal`, lines 187-189), q(z | y, x) without a (`q_z_reads_a:
false`, lines 92-110), and q(a | x) left at its initial weights (`train.freeze`); see
docs/papers/adgm-authors-code.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP
from vaelab.layers.heads import diagonal_normal
from vaelab.models.base import Latent, ModelOutput, repeat_samples
from vaelab.models.conditional import ConditionalMLP, gaussian_head, initialise_, observation_head
from vaelab.models.networks import JoinedInputs, first_block, own_modules
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
    """q(a|x) q(y|a,x) q(z|a,y,x) (ADGM eqs. 7-9).

    encoder: an own feature network x (B, D) -> (B, H) that the three networks read in place of x
    (models/networks.py); `width` is H (D without one).
    """

    def __init__(self, input_dim: int, p: AuxiliaryParams, encoder: nn.Module | None = None) -> None:
        super().__init__()
        h = p.hidden[-1]
        self.params = p
        self.features, self.width = first_block(encoder, nn.Identity(), input_dim, input_dim, "encoder")
        self.q_a = MLP(self.width, list(p.hidden), p.activation, p.batch_norm)
        self.q_a_head = gaussian_head(h, p.auxiliary, p.var_floor)
        self.q_y = ConditionalMLP((self.width, p.auxiliary), p.hidden, p.activation, p.batch_norm)
        self.q_y_head = nn.Linear(h, p.classes)
        a_in = (p.auxiliary,) if p.q_z_reads_a else ()  # q(z|a,y,x), or q(z|y,x) as in the authors' code
        self.q_z = ConditionalMLP((self.width, *a_in, p.classes), p.hidden, p.activation, p.batch_norm)
        self.q_z_head = gaussian_head(h, p.latent, p.var_floor)

    def q_a_params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, variance) of q(a|x), each (B, D_a), from the features of x (B, width): self.features(x)."""
        return self.q_a_head.params(self.q_a(x))

    def logits(self, x: Tensor, a: Tensor) -> Tensor:
        """Logits of q(y|a,x) for broadcastable x (..., D) and a (..., D_a)."""
        return self.q_y_head(self.q_y(x, a))

    def forward(self, x: Tensor, y: Tensor | None, rows: Rows) -> Inferred:
        x = self.features(x)  # (B, width): what the networks read of x (x itself unless an encoder is given)
        mean, var = self.q_a_params(x)  # once per example
        mean, var = repeat_samples(mean, rows.samples), repeat_samples(var, rows.samples)  # (S*B, D_a)
        a = diagonal_normal(mean, var).rsample()
        xe, ae, ye = rows.per_example(x), rows.per_sample(a), rows.one_hot(y, x)
        qz = self.q_z_head(rows.flat(self.q_z(*self._z_parts(xe, ae, ye))))
        z = qz.rsample()
        return Inferred(xe, ye, ae, repeat_gaussian(mean, var, rows), self.logits(xe, ae), rows.unflat(z), qz)

    def _z_parts(self, x: Tensor, a: Tensor, y: Tensor) -> tuple[Tensor, ...]:
        """The inputs of q(z | .): (x, a, y), or (x, y) with model.q_z_reads_a false."""
        return (x, a, y) if self.params.q_z_reads_a else (x, y)

    @torch.no_grad()
    def classify(self, x: Tensor, n_samples: int) -> Tensor:
        """q(y|a,x) averaged over n_samples draws of a ~ q(a|x), (B, C)."""
        x = self.features(x)
        mean, var = self.q_a_params(x)
        a = diagonal_normal(repeat_samples(mean, n_samples), repeat_samples(var, n_samples)).sample()
        probs = torch.softmax(self.logits(repeat_samples(x, n_samples), a), -1)
        return probs.view(n_samples, x.shape[0], -1).mean(0)

    @torch.no_grad()
    def encode_z(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean of q(z | a, y, x) at a = mean of q(a|x), (B, D_z)."""
        x = self.features(x)
        a, _ = self.q_a_params(x)
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(x.dtype)
        return self.q_z_head.params(self.q_z(*self._z_parts(x, a, y1)))[0]


def auxiliary_output(inf: Inferred, rows: Rows, y: Tensor | None, px: Distribution, pa: Distribution | None,
                     latent: int) -> ModelOutput:
    """The contract's output for an auxiliary model: sites a and z, and the label site (pa None: p(a) = N(0, I))."""
    a = rows.flat(inf.a)
    z = inf.z.reshape(-1, inf.z.shape[-1])
    analytic = pa is None  # p(a|z,.) reads z, drawn after a: Monte Carlo; N(0, I): the closed form, as the code
    pa = standard_normal(a.shape[0], a.shape[-1], a) if analytic else pa
    latents = [
        Latent("a", a, inf.qa, pa, analytic_kl=analytic),
        Latent("z", z, inf.qz, standard_normal(z.shape[0], latent, z)),
    ]
    return ModelOutput(px=px, latents=latents, label=label_site(rows, y, inf.logits))


class AuxiliaryModel(LabelledModel):
    """Shared plumbing of the ADGM and the SDGM: the inference model and classification."""

    Params = AuxiliaryParams

    def __init__(self, input_dim: int, params: AuxiliaryParams, encoder: nn.Module | None = None) -> None:
        super().__init__()
        self.params = params
        self.inference = AuxiliaryInference(input_dim, params, encoder)

    def classify(self, x: Tensor, n_samples: int = 1) -> Tensor:
        """(B, C): q(y|a,x) averaged over n_samples draws of a."""
        return self.inference.classify(x, n_samples)

    def encode_z(self, x: Tensor, y: Tensor) -> Tensor:
        return self.inference.encode_z(x, y)

    @torch.no_grad()
    def auxiliary_mean(self, x: Tensor) -> Tensor:
        """Mean of q(a|x), (B, D_a): the auxiliary space of ADGM Fig. 2d and 4b."""
        return self.inference.q_a_params(self.inference.features(x))[0]


class ADGM(AuxiliaryModel):
    """p(y) p(z) p(a|z,y,x) (or p(a|z,y), or p(a)) p(x|y,z) with q(a|x) q(y|a,x) q(z|a,y,x) (or q(z|y,x)).

    encoder: an own feature network x (B, D) -> (B, H) read in place of x by q(a|x), q(y|a,x), q(z|a,y,x) and
    p(a|z,y,x); decoder: an own network [y, z] (N, C + D_z) -> (N, H) under p(x|y,z) (models/networks.py).
    """

    def __init__(self, input_dim: int, params: AuxiliaryParams, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None) -> None:
        super().__init__(input_dim, params, encoder)
        p = params
        self.p_x = (ConditionalMLP((p.classes, p.latent), p.hidden, p.activation, p.batch_norm) if decoder is None
                    else JoinedInputs(decoder, (p.classes, p.latent), "decoder"))
        self.p_x_head = observation_head(p.observation, self.p_x.out_features, input_dim, p.obs_var_floor)
        if p.aux_prior == "conditional":  # else p(a) = N(0, I): no network (the authors' code, adgmssl.py:187-189)
            x_in = (self.inference.width,) if p.aux_reads_x else ()
            self.p_a = ConditionalMLP((*x_in, p.classes, p.latent), p.hidden, p.activation, p.batch_norm)
            self.p_a_head = gaussian_head(p.hidden[-1], p.auxiliary, p.var_floor)
        initialise_(self, p.init, keep=own_modules(encoder, decoder))

    def forward(self, x: Tensor, y: Tensor | None = None, n_samples: int = 1) -> ModelOutput:
        rows = self.rows(x, y, n_samples)
        inf = self.inference(x, y, rows)
        px = self.p_x_head(rows.flat(self.p_x(inf.y, inf.z)))
        pa = None
        if self.params.aux_prior == "conditional":
            x_in = (inf.x,) if self.params.aux_reads_x else ()
            pa = self.p_a_head(rows.flat(self.p_a(*x_in, inf.y, inf.z)))
        return auxiliary_output(inf, rows, y, px, pa, self.params.latent)

    def decode(self, z: Tensor, y: Tensor) -> Distribution:
        """p(x | y, z) for z (n, D_z) and labels y (n,)."""
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(z.dtype)
        return self.p_x_head(self.p_x(y1, z))
