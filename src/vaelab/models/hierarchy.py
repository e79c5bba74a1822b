"""The generative model shared by the VAE and the Ladder VAE (LVAE eqs. 1-3).

p(x, z) = p(x | z_1) p(z_L) prod_{i<L} p(z_i | z_{i+1}); every conditional is an MLP with two hidden
layers and a distribution head. Layer sizes follow the paper: the connection between z_i and z_{i+1} uses
hidden[i] units (0-based), the one between x and z_1 uses hidden[0].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal

from vaelab.layers import FLOWS, MLP, GaussianHead, make_observation_head
from vaelab.layers.decoder_variance import PIXEL_FLOOR_HEADS
from vaelab.layers.heads import OBSERVATION_HEADS, diagonal_normal
from vaelab.layers.pixel_variance_floor import PixelVarianceFloor
from vaelab.models.networks import first_block
from vaelab.models.posterior_flows import FLOW_LAYERS


@dataclass(frozen=True)
class HierarchyParams:
    """Settings of the VAE and Ladder VAE (LVAE section 3). Sizes go from the bottom (z_1) to the top."""

    latent: tuple[int, ...] = (64, 32, 16, 8, 4)  # size of each stochastic layer z_1 .. z_L, bottom to top
    hidden: tuple[int, ...] = (512, 256, 128, 64, 32)  # one width per stochastic layer: every MLP has two hidden
                                                       # layers of that width, hidden[0] between x and z_1, hidden[i]
                                                       # between z_i and z_(i+1); [512] is one layer, MLPs 512-512
    activation: str = "leaky_relu"  # leaky_relu (slope 0.1) | tanh | relu
    batch_norm: bool = True  # batch-norm after every hidden linear layer (the BN of LVAE+BN+WU)
    observation: str = "bernoulli"  # p(x|z_1): bernoulli | gaussian (variance softplus + obs_var_floor) | the
                                    # Balancing-ELBO decoders gaussian_fixed, _global, _closed_form, _pixel, _input
    var_floor: float = 1e-5  # floor of every latent variance
    obs_var_floor: float = 1e-4  # floor of a Gaussian observation variance
    obs_variance: float = 0.5  # sigma^2 of gaussian_fixed; starting sigma^2 of the learned gaussian_* decoders
    pixel_var_floor: str = "global"  # lower bound of the per-pixel variance of gaussian_input (gaussian_pixel):
                                     # global (stage-one sigma*^2, the paper's rule) | fraction | fixed | none
    pixel_var_floor_value: float | None = None  # fraction: the share of sigma*^2, in (0, 1]; fixed: the variance
                                                # (>= obs_var_floor); unset for global and none
    flow: str = "none"  # posterior flow: none | iaf | planar (EQUATIONS.md §4; models/posterior_flows.py)
    flow_steps: int = 2  # T, steps per flow
    flow_layers: str = "top"  # which layers get a flow: top | bottom | all
    flow_hidden: int = 128  # width of the two hidden MADE layers of every IAF step

    def __post_init__(self) -> None:
        if len(self.latent) < 1:
            raise ValueError("model.latent must list at least one latent size, e.g. [64, 32]")
        if len(self.latent) != len(self.hidden):
            raise ValueError(
                f"model.latent has {len(self.latent)} layers but model.hidden has {len(self.hidden)}: "
                "give one hidden size per stochastic layer"
            )
        if any(s <= 0 for s in (*self.latent, *self.hidden)):
            raise ValueError("model.latent and model.hidden sizes must be positive integers")
        if self.var_floor < 0 or self.obs_var_floor < 0:
            raise ValueError("model.var_floor and model.obs_var_floor must be >= 0")
        if self.observation not in OBSERVATION_HEADS:
            raise ValueError(f"model.observation: unknown {self.observation!r}; choose one of "
                             f"{', '.join(sorted(OBSERVATION_HEADS))}")
        if not self.obs_variance > 0:
            raise ValueError(f"model.obs_variance must be > 0, got {self.obs_variance}")
        self._check_pixel_floor()
        self._check_flow()

    def _check_pixel_floor(self) -> None:
        floor = self.pixel_floor
        floor.check_against(self.obs_var_floor)
        if floor.rule != "global" and self.observation not in PIXEL_FLOOR_HEADS:
            raise ValueError(f"model.pixel_var_floor {floor.rule} bounds a per-pixel variance: it needs "
                             f"model.observation {' or '.join(PIXEL_FLOOR_HEADS)}, not {self.observation}")
        if self.observation == "gaussian_pixel":
            floor.bound_without_global(self.obs_var_floor)  # raises for fraction: gaussian_pixel has no sigma*^2

    @property
    def pixel_floor(self) -> PixelVarianceFloor:
        """The floor rule of the per-pixel decoder variance (model.pixel_var_floor and its value)."""
        return PixelVarianceFloor(self.pixel_var_floor, self.pixel_var_floor_value)

    def _check_flow(self) -> None:
        if self.flow != "none" and self.flow not in FLOWS:
            raise ValueError(f"model.flow: unknown flow {self.flow!r}; choose none, {', '.join(sorted(FLOWS))}")
        if self.flow_layers not in FLOW_LAYERS:
            raise ValueError(f"model.flow_layers: {self.flow_layers!r} is not one of {', '.join(FLOW_LAYERS)}")
        if self.flow_steps < 1 or self.flow_hidden < 1:
            raise ValueError("model.flow_steps and model.flow_hidden must be positive integers")

    @property
    def layers(self) -> int:
        return len(self.latent)


class TopDownGenerative(nn.Module):
    """p(z_L) = N(0, I), p(z_i | z_{i+1}) Gaussian, p(x | z_1) Bernoulli or Gaussian.

    decoder: an own network z_1 (N, latent[0]) -> (N, H) in place of the MLP under p(x | z_1) (models/networks.py).
    """

    def __init__(self, input_dim: int, p: HierarchyParams, decoder: nn.Module | None = None) -> None:
        super().__init__()
        self.latent = tuple(p.latent)
        mlp = lambda n_in, width: MLP(n_in, [width, width], p.activation, p.batch_norm)  # noqa: E731
        # priors[i] maps z_{i+2} to the parameters of p(z_{i+1} | z_{i+2}) (1-based names)
        self.prior_mlps = nn.ModuleList(mlp(p.latent[i + 1], p.hidden[i + 1]) for i in range(p.layers - 1))
        self.prior_heads = nn.ModuleList(
            GaussianHead(p.hidden[i + 1], p.latent[i], p.var_floor) for i in range(p.layers - 1)
        )
        default = mlp(p.latent[0], p.hidden[0]) if decoder is None else None
        self.decoder, width = first_block(decoder, default, p.hidden[0], p.latent[0], "decoder")
        self.observation = make_observation_head(p.observation, width, input_dim, p.obs_var_floor, p.obs_variance,
                                                 p.pixel_floor)

    def top_prior(self, n: int, like: Tensor) -> Distribution:
        """p(z_L) = N(0, I) for n rows."""
        zeros = like.new_zeros(n, self.latent[-1])
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def prior_params(self, i: int, z_above: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, variance) of p(z_{i+1} | z_{i+2}) from z_{i+2}; i is the 0-based index of the lower layer."""
        return self.prior_heads[i].params(self.prior_mlps[i](z_above))

    def prior(self, i: int, z_above: Tensor) -> Distribution:
        return diagonal_normal(*self.prior_params(i, z_above))

    def decode(self, z1: Tensor) -> Distribution:
        """p(x | z_1)."""
        return self.observation(self.decoder(z1))

    @torch.no_grad()
    def generate(self, n: int, like: Tensor) -> Distribution:
        """Ancestral sampling z_L -> ... -> z_1, returning p(x | z_1) for n draws."""
        return self.decode_from_top(self.top_prior(n, like).sample())

    @torch.no_grad()
    def decode_from_top(self, z_top: Tensor) -> Distribution:
        """p(x | z_1) for given top-layer samples z_L (N, D_L), sampling z_{L-1} ... z_1 from the priors.

        With z_L from the prior this is ancestral sampling; with z_L from a fit of the aggregate posterior
        q(z_L) (Balancing-ELBO eqs. 12-13) only the top prior is replaced.
        """
        z = z_top
        for i in reversed(range(len(self.latent) - 1)):
            z = self.prior(i, z).sample()
        return self.decode(z)
