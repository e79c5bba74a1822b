"""Flow posteriors for the stochastic layers of the VAE and the Ladder VAE (`model.flow`, EQUATIONS.md §4).

A layer with a flow turns its diagonal Gaussian q_0(z_i | .) into q(z_i | .) = the law of
z_T = flow(z_0, h_i), with h_i the deterministic features that produced q_0 (the encoder's last hidden layer
d_i; for the Ladder VAE the upward d_i). No analytic KL exists for such a posterior, so the objectives fall
back to the Monte Carlo KL log q(z) - log p(z) at the drawn sample, and a per-unit KL is not reported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from torch import Tensor, nn
from torch.distributions import Distribution

from vaelab.layers import FlowSettings, make_flow

if TYPE_CHECKING:
    from vaelab.models.hierarchy import HierarchyParams

FLOW_LAYERS: dict[str, Callable[[int], tuple[int, ...]]] = {
    "top": lambda n_layers: (n_layers - 1,),  # z_L only (for one layer: z_1)
    "bottom": lambda n_layers: (0,),  # z_1 only, the layer that feeds p(x | z_1)
    "all": lambda n_layers: tuple(range(n_layers)),
}


class PosteriorFlows(nn.Module):
    """One flow per chosen layer (0-based index i; context width model.hidden[i]); the identity elsewhere.

    first_width: the context width of layer 0 when an own encoder gives features of another width.
    """

    def __init__(self, p: HierarchyParams, first_width: int | None = None) -> None:
        super().__init__()
        chosen = FLOW_LAYERS[p.flow_layers](p.layers) if p.flow != "none" else ()
        settings = FlowSettings(p.flow_steps, p.flow_hidden, p.activation)
        widths = (first_width or p.hidden[0], *p.hidden[1:])
        self.flows = nn.ModuleDict({str(i): make_flow(p.flow, p.latent[i], widths[i], settings) for i in chosen})

    def applies(self, i: int) -> bool:
        """True when layer i (0-based) has a flow."""
        return str(i) in self.flows

    def forward(self, i: int, q0: Distribution, h: Tensor) -> Distribution:
        """q of layer i: q0 itself, or q0 pushed through the layer's flow conditioned on h (S*B, hidden[i])."""
        if not self.applies(i):
            return q0
        return self.flows[str(i)].posterior(q0, h)
