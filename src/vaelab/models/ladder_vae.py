"""The Ladder VAE (LVAE eqs. 13-19): a deterministic upward pass, then a stochastic downward pass.

The downward pass shares its conditionals with the generative model: at layer i the prior parameters
mu_p, var_p come from p(z_i | z_{i+1}) evaluated at the z_{i+1} that was sampled from the *posterior*
(DESIGN.md §4), and are merged with the upward estimate by precision weighting (eqs. 17-18).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import MLP, GaussianHead, precision_weighted_merge
from vaelab.layers.heads import diagonal_normal
from vaelab.models.base import Latent, ModelOutput, repeat_samples
from vaelab.models.hierarchy import HierarchyParams, TopDownGenerative
from vaelab.models.networks import first_block
from vaelab.models.posterior_flows import PosteriorFlows


class LadderVAE(nn.Module):
    """q(z|x) = q(z_L|x) prod_{i<L} q(z_i | z_{i+1}, x), same generative model and size as the VAE.

    encoder, decoder: own networks x (B, D) -> (B, H) in place of the first upward MLP (d_1 = encoder(x)), and
    z_1 -> (N, H) in place of the MLP under p(x | z_1) (models/networks.py); the heads stay the model's.
    """

    Params = HierarchyParams

    def __init__(self, input_dim: int, params: HierarchyParams, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None) -> None:
        super().__init__()
        p = params
        self.params = p
        mlp = lambda n_in, i: MLP(n_in, [p.hidden[i], p.hidden[i]], p.activation, p.batch_norm)  # noqa: E731
        first, width = first_block(encoder, mlp(input_dim, 0) if encoder is None else None, p.hidden[0], input_dim,
                                   "encoder")
        widths = (width, *p.hidden[1:])  # the width of each d_i, d_i = MLP(d_{i-1})  (eq. 13)
        self.up = nn.ModuleList([first, *(mlp(widths[i - 1], i) for i in range(1, p.layers))])
        self.up_heads = nn.ModuleList(GaussianHead(widths[i], p.latent[i], p.var_floor) for i in range(p.layers))
        self.generative = TopDownGenerative(input_dim, p, decoder)
        self.posterior_flows = PosteriorFlows(p, width)  # empty unless model.flow is set

    def upward_features(self, x: Tensor) -> list[Tensor]:
        """d_i for i = 1..L (eq. 13), each (B, hidden_i)."""
        d, out = x, []
        for mlp in self.up:
            d = mlp(d)
            out.append(d)
        return out

    def upward(self, x: Tensor) -> list[tuple[Tensor, Tensor]]:
        """(mu_hat_i, var_hat_i) for i = 1..L (eqs. 13-15), each (B, D_i)."""
        return [head.params(d) for head, d in zip(self.up_heads, self.upward_features(x))]

    def _posterior(self, i: int, q0: Distribution, features: list[Tensor], n_samples: int) -> Distribution:
        """q of layer i: the Gaussian q0, or its flow conditioned on the upward d_i (repeated per sample)."""
        if not self.posterior_flows.applies(i):
            return q0
        return self.posterior_flows(i, q0, repeat_samples(features[i], n_samples))

    def forward(self, x: Tensor, n_samples: int = 1) -> ModelOutput:
        # The upward pass does not depend on the samples: once per example, then repeat. (S*B, D_i)
        features = self.upward_features(x)
        up = [(repeat_samples(m, n_samples), repeat_samples(v, n_samples))
              for m, v in (head.params(d) for head, d in zip(self.up_heads, features))]
        top = self.params.layers - 1
        q = diagonal_normal(*up[top])  # eq. 19: the top posterior is the upward estimate
        q = self._posterior(top, q, features, n_samples)
        z = q.rsample()  # with a flow, z is the flowed sample z_T: it is what travels down
        latents = [Latent(f"z{top + 1}", z, q, self.generative.top_prior(z.shape[0], z))]
        for i in reversed(range(top)):
            mu_p, var_p = self.generative.prior_params(i, z)  # from the posterior sample z_{i+2}
            q = diagonal_normal(*precision_weighted_merge(*up[i], mu_p, var_p))
            q = self._posterior(i, q, features, n_samples)
            z = q.rsample()
            latents.append(Latent(f"z{i + 1}", z, q, diagonal_normal(mu_p, var_p)))
        latents.reverse()  # bottom (z1) to top
        return ModelOutput(px=self.generative.decode(z), latents=latents)

    def generate(self, n: int) -> Distribution:
        """p(x | z_1) for n ancestral samples from the prior."""
        return self.generative.generate(n, next(self.parameters()))
