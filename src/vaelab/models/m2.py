"""M2 of Kingma et al. (2014): the semi-supervised VAE without an auxiliary variable.

Generative: p(y) p(z) p(x | y, z); inference: q(y | x) q(z | x, y). Same networks, heads and initialisation
as the ADGM (it is the "same model without a" of the half-moons experiment, ADGM section 4.2).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP
from vaelab.models.base import Latent, ModelOutput
from vaelab.models.conditional import ConditionalMLP, gaussian_head, initialise_, observation_head
from vaelab.models.networks import JoinedInputs, first_block, own_modules
from vaelab.models.semisupervised import LabelledModel, SemiSupervisedParams, label_site, standard_normal


class M2(LabelledModel):
    """p(y) p(z) p(x|y,z) with q(y|x) q(z|x,y).

    encoder: an own feature network x (B, D) -> (B, H) that q(y|x) and q(z|x,y) read in place of x; decoder: an
    own network [y, z] (N, C + D_z) -> (N, H) under p(x|y,z) (models/networks.py).
    """

    Params = SemiSupervisedParams

    def __init__(self, input_dim: int, params: SemiSupervisedParams, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None) -> None:
        super().__init__()
        p = self.params = params
        self.features, width = first_block(encoder, nn.Identity(), input_dim, input_dim, "encoder")
        self.q_y = MLP(width, list(p.hidden), p.activation, p.batch_norm)
        self.q_y_head = nn.Linear(p.hidden[-1], p.classes)
        self.q_z = ConditionalMLP((width, p.classes), p.hidden, p.activation, p.batch_norm)
        self.q_z_head = gaussian_head(p.hidden[-1], p.latent, p.var_floor)
        self.p_x = (ConditionalMLP((p.classes, p.latent), p.hidden, p.activation, p.batch_norm) if decoder is None
                    else JoinedInputs(decoder, (p.classes, p.latent), "decoder"))
        self.p_x_head = observation_head(p.observation, self.p_x.out_features, input_dim, p.obs_var_floor)
        initialise_(self, p.init, keep=own_modules(encoder, decoder))

    def forward(self, x: Tensor, y: Tensor | None = None, n_samples: int = 1) -> ModelOutput:
        rows = self.rows(x, y, n_samples)
        x = self.features(x)  # (B, H): what the networks read of x (x itself unless an encoder is given)
        xe, ye = rows.per_example(x), rows.one_hot(y, x)
        qz = self.q_z_head(rows.flat(self.q_z(xe, ye)))  # q(z|x,y) computed per (class, example), repeated
        z = qz.rsample()  # (N, D_z)
        px = self.p_x_head(rows.flat(self.p_x(ye, rows.unflat(z))))
        logits = rows.per_example(self.q_y_head(self.q_y(x)))  # q(y|x) once per example
        site = Latent("z", z, qz, standard_normal(z.shape[0], self.params.latent, z))
        return ModelOutput(px=px, latents=[site], label=label_site(rows, y, logits))

    @torch.no_grad()
    def classify(self, x: Tensor, n_samples: int = 1) -> Tensor:
        """q(y|x), (B, C) (deterministic: n_samples is accepted for a common interface)."""
        return torch.softmax(self.q_y_head(self.q_y(self.features(x))), -1)

    @torch.no_grad()
    def encode_z(self, x: Tensor, y: Tensor) -> Tensor:
        """Mean of q(z | x, y), (B, D_z)."""
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(x.dtype)
        return self.q_z_head.params(self.q_z(self.features(x), y1))[0]

    def decode(self, z: Tensor, y: Tensor) -> Distribution:
        """p(x | y, z) for z (n, D_z) and labels y (n,)."""
        y1 = torch.nn.functional.one_hot(y, self.params.classes).to(z.dtype)
        return self.p_x_head(self.p_x(y1, z))
