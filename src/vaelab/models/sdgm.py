"""The skip deep generative model (SDGM, Maaløe et al. 2016, section 2.4).

The ADGM with the arrow between a and x reversed, so a joins the generative model as a second stochastic
layer with skip connections: p(y) p(z) p(a | z, y) p(x | a, y, z). Inference is the ADGM's, unchanged:
q(a | x) q(y | a, x) q(z | a, y, x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution

from vaelab.models.adgm import AuxiliaryModel, auxiliary_output
from vaelab.models.base import ModelOutput
from vaelab.models.conditional import ConditionalMLP, gaussian_head, initialise_, observation_head
from vaelab.models.networks import JoinedInputs, own_modules
from vaelab.models.semisupervised import AuxiliaryParams


@dataclass(frozen=True)
class SkipParams(AuxiliaryParams):
    """The ADGM's settings; p(a | z, y) is the SDGM's own (model.aux_prior stays conditional)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.aux_prior != "conditional":
            raise ValueError(SDGM_PRIOR)


SDGM_PRIOR = ("model.aux_prior standard_normal is an ADGM option: the SDGM's p(a|z,y) is the second layer of its "
              "generative model; remove it")


class SDGM(AuxiliaryModel):
    """p(y) p(z) p(a|z,y) p(x|a,y,z) with q(a|x) q(y|a,x) q(z|a,y,x).

    encoder: an own feature network x (B, D) -> (B, H) read by the inference networks in place of x; decoder: an
    own network [a, y, z] (N, D_a + C + D_z) -> (N, H) under p(x|a,y,z) (models/networks.py).
    """

    Params = SkipParams

    def __init__(self, input_dim: int, params: AuxiliaryParams, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None) -> None:
        if params.aux_prior != "conditional":
            raise ValueError(SDGM_PRIOR)
        super().__init__(input_dim, params, encoder)
        p = params
        self.p_a = ConditionalMLP((p.classes, p.latent), p.hidden, p.activation, p.batch_norm)
        self.p_a_head = gaussian_head(p.hidden[-1], p.auxiliary, p.var_floor)
        parts = (p.auxiliary, p.classes, p.latent)
        self.p_x = (ConditionalMLP(parts, p.hidden, p.activation, p.batch_norm) if decoder is None
                    else JoinedInputs(decoder, parts, "decoder"))
        self.p_x_head = observation_head(p.observation, self.p_x.out_features, input_dim, p.obs_var_floor)
        initialise_(self, p.init, keep=own_modules(encoder, decoder))

    def forward(self, x: Tensor, y: Tensor | None = None, n_samples: int = 1) -> ModelOutput:
        rows = self.rows(x, y, n_samples)
        inf = self.inference(x, y, rows)
        pa = self.p_a_head(rows.flat(self.p_a(inf.y, inf.z)))
        px = self.p_x_head(rows.flat(self.p_x(inf.a, inf.y, inf.z)))
        return auxiliary_output(inf, rows, y, px, pa, self.params.latent)

    def decode(self, z: Tensor, y: Tensor) -> Distribution:
        """p(x | a, y, z) with a the mean of p(a | z, y), for z (n, D_z) and labels y (n,)."""
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(z.dtype)
        a = self.p_a_head.params(self.p_a(y1, z))[0]
        return self.p_x_head(self.p_x(a, y1, z))
