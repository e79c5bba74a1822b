"""Variational bounds on the normaliser of an unnormalised density f on R^D (no data, no decoder).

For f(z) = exp(-U(z)) with Z = int f, and any q we can sample and evaluate (e.g. a flow posterior):
    log Z >= E_q[log f(z) - log q(z)]                  (the ELBO; Rezende & Mohamed 2015 sec. 6.1,
                                                         ADGM eq. 18 without the auxiliary variable)
    log Z >= E[log (1/K) sum_k f(z_k) / q(z_k)]        (the importance-weighted bound, LVAE eq. 6)
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor
from torch.distributions import Distribution

LogDensity = Callable[[Tensor], Tensor]  # (..., D) -> (...,): log f, unnormalised


def density_log_weights(q: Distribution, log_f: LogDensity, beta: float = 1.0) -> Tensor:
    """beta * log f(z) - log q(z) at one reparameterised draw z ~ q per batch row: shape q.batch_shape.

    Its mean is the ELBO on log Z (beta = 1); beta < 1 anneals the target, as Rezende & Mohamed did.
    """
    z = q.rsample()
    return beta * log_f(z) - q.log_prob(z)
