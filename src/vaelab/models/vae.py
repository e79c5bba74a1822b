"""The hierarchical VAE with bottom-up inference (LVAE eqs. 7-12), 1 to L stochastic layers."""

from __future__ import annotations

from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP, GaussianHead
from vaelab.models.base import Latent, ModelOutput, repeat_samples
from vaelab.models.hierarchy import HierarchyParams, TopDownGenerative
from vaelab.models.networks import first_block
from vaelab.models.posterior_flows import PosteriorFlows


class VAE(nn.Module):
    """q(z|x) = q(z_1|x) prod_{i>=2} q(z_i|z_{i-1}); generative model as in TopDownGenerative.

    encoder, decoder: own networks x (B, D) -> (B, H) in place of the first encoder MLP, and z_1 -> (N, H) in
    place of the MLP under p(x | z_1) (models/networks.py); the heads on top stay the model's.
    """

    Params = HierarchyParams

    def __init__(self, input_dim: int, params: HierarchyParams, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None) -> None:
        super().__init__()
        p = params
        self.params = p
        inputs = (input_dim, *p.latent[:-1])  # what each q(z_i | .) reads
        mlp = lambda i: MLP(inputs[i], [p.hidden[i], p.hidden[i]], p.activation, p.batch_norm)  # noqa: E731
        first, width = first_block(encoder, mlp(0) if encoder is None else None, p.hidden[0], input_dim, "encoder")
        self.encoders = nn.ModuleList([first, *(mlp(i) for i in range(1, p.layers))])
        widths = (width, *p.hidden[1:])  # what each head reads
        self.heads = nn.ModuleList(GaussianHead(widths[i], p.latent[i], p.var_floor) for i in range(p.layers))
        self.generative = TopDownGenerative(input_dim, p, decoder)
        self.posterior_flows = PosteriorFlows(p, width)  # empty unless model.flow is set

    def forward(self, x: Tensor, n_samples: int = 1) -> ModelOutput:
        # The first encoder MLP depends on x only: run it once per example, then repeat. (S*B, H)
        d = repeat_samples(self.encoders[0](x), n_samples)
        zs: list[Tensor] = []
        qs: list[Distribution] = []
        for i in range(self.params.layers):
            if i > 0:
                d = self.encoders[i](zs[-1])
            q = self.posterior_flows(i, self.heads[i](d), d)  # Gaussian, or a flow of it conditioned on d
            qs.append(q)
            zs.append(q.rsample())  # (S*B, D_i)
        latents = []
        for i in range(self.params.layers):
            p = (self.generative.top_prior(zs[i].shape[0], zs[i]) if i == self.params.layers - 1
                 else self.generative.prior(i, zs[i + 1]))
            # p(z_i | z_{i+1}) reads z_{i+1}, drawn after z_i from q: only the top layer may use the analytic KL
            latents.append(Latent(f"z{i + 1}", zs[i], qs[i], p, analytic_kl=i == self.params.layers - 1))
        return ModelOutput(px=self.generative.decode(zs[0]), latents=latents)

    def generate(self, n: int) -> Distribution:
        """p(x | z_1) for n ancestral samples from the prior."""
        return self.generative.generate(n, next(self.parameters()))
