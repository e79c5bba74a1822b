"""A density pushed through an invertible map: the posterior of a normalizing flow (Kingma & Welling ch. 3).

z_0 ~ q_0 (a diagonal Gaussian from the encoder), z_T = f(z_0), and by the change of variables
    log q(z_T) = log q_0(z_0) - log |det dz_T / dz_0|
(EQUATIONS.md §4: for the IAF, log q(z_T|x) = -sum_i (eps_i^2/2 + log(2 pi)/2 + sum_{t=0}^{T} log sigma_{t,i})).

The map is given as callables, so this module stays free of networks (DESIGN.md §2): the flow layers of
`vaelab.layers.flows` hand over `forward(z_0) -> (z_T, log_det)` and, where they have one,
`inverse(z_T) -> (z_0, log_det)` with log_det the forward log-determinant at z_0.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Size, Tensor
from torch.distributions import Distribution, constraints

FlowMap = Callable[[Tensor], tuple[Tensor, Tensor]]


class FlowPosterior(Distribution):
    """q(z_T) for z_T = f(z_0), z_0 ~ base. Batch and event shape are the base's (event: one vector).

    log_prob(z) of a tensor returned by this object's last rsample()/sample() is read from a cache, with
    the gradient of the reparameterised path (what the ELBO and L_K need). For any other z the map is
    inverted with `inverse` (an IAF step costs D sequential network passes, a planar step a bisection);
    without an inverse, log_prob of an arbitrary z raises ValueError. A z whose pre-image overflows (far
    outside the region the flow maps the base's mass to) gets log-density -inf. mean and variance have no closed form
    (NotImplementedError): estimate them from samples.
    """

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, base: Distribution, forward: FlowMap, inverse: FlowMap | None = None) -> None:
        if len(base.event_shape) != 1:
            raise ValueError(f"FlowPosterior needs a base with a vector event, got event_shape {tuple(base.event_shape)}")
        self.base = base
        self._forward = forward
        self._inverse = inverse
        self._cache: tuple[Tensor, Tensor] | None = None  # (z_T, log q(z_T)) of the last sample
        super().__init__(base.batch_shape, base.event_shape, validate_args=False)

    def rsample(self, sample_shape: Size | tuple[int, ...] = Size()) -> Tensor:
        """z_T of shape sample_shape + batch_shape + (D,), differentiable in the flow's parameters."""
        z0 = self.base.rsample(sample_shape)
        z, log_det = self._forward(z0)
        self._cache = (z, self.base.log_prob(z0) - log_det)
        return z

    def log_prob(self, value: Tensor) -> Tensor:
        """log q(value), shape value.shape[:-1]."""
        if self._cache is not None and value is self._cache[0]:
            return self._cache[1]
        if self._inverse is None:
            raise ValueError("this flow has no inverse: log_prob is defined only for the tensor returned by its "
                             "last rsample() (pass that very tensor, not a copy)")
        z0, log_det = self._inverse(value)
        finite = torch.isfinite(z0).all(-1) & torch.isfinite(log_det)
        if bool(finite.all()):
            return self.base.log_prob(z0) - log_det
        # a pre-image beyond floating point (|z_0| > 1e308 in float64) has density 0 there
        log_q = self.base.log_prob(torch.where(finite[..., None], z0, torch.zeros_like(z0))) - log_det
        return torch.where(finite, log_q, torch.full_like(log_q, -torch.inf))

    def sample(self, sample_shape: Size | tuple[int, ...] = Size()) -> Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)
