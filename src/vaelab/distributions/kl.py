"""KL(q || p) between the posterior and prior of one stochastic site.

The analytic KL is used where torch.distributions registers one for the pair (e.g. Independent Normal
pairs, LVAE eq. 6 remark); otherwise the single-sample Monte Carlo estimate log q(z) - log p(z) at the
sample z that the model drew, so both are unbiased estimates of the same quantity.
"""

from __future__ import annotations

from torch import Tensor
from torch.distributions import Distribution, Independent, Normal, kl_divergence


def has_analytic_kl(q: Distribution, p: Distribution) -> bool:
    """True when torch.distributions has a registered closed form for KL(q || p)."""
    try:
        kl_divergence(q, p)
    except NotImplementedError:
        return False
    return True


def kl_estimate(q: Distribution, p: Distribution, z: Tensor, analytic: bool = True) -> Tensor:
    """KL(q || p) per example, shape (B,): analytic where registered (and allowed), else log q(z) - log p(z).

    analytic=False forces the Monte Carlo form, for sites whose prior depends on a sample drawn after z
    (see vaelab.models.base.Latent.analytic_kl).
    """
    if not analytic:
        return q.log_prob(z) - p.log_prob(z)
    closed = normal_kl(q, p)
    if closed is not None:
        return closed
    try:
        return kl_divergence(q, p)
    except NotImplementedError:
        return q.log_prob(z) - p.log_prob(z)


def normal_kl(q: Distribution, p: Distribution) -> Tensor | None:
    """Closed-form KL of two diagonal Gaussians (Normal, or Independent over Normal), or None for other pairs.

    KL = 1/2 [var_q/var_p + (mu_q - mu_p)^2 / var_p - 1 + log var_p - log var_q], summed over the
    reinterpreted event dimensions. The same value as torch.distributions' registered rule, written out so
    that the hot path needs no type dispatch (which torch.compile cannot trace).
    """
    dims = 0
    if isinstance(q, Independent) and isinstance(p, Independent):
        if q.reinterpreted_batch_ndims != p.reinterpreted_batch_ndims:
            return None
        dims, q, p = q.reinterpreted_batch_ndims, q.base_dist, p.base_dist
    if type(q) is not Normal or type(p) is not Normal:
        return None
    ratio = (q.scale / p.scale) ** 2
    kl = 0.5 * (ratio + ((q.loc - p.loc) / p.scale) ** 2 - 1 - ratio.log())
    return kl.sum(tuple(range(-dims, 0))) if dims else kl


def kl_per_unit(q: Distribution, p: Distribution, z: Tensor, analytic: bool = True) -> Tensor | None:
    """KL of every latent unit, shape (B, D), for factorised pairs (Independent over a factorised base).

    Returns None when the posterior does not factorise over units (e.g. a flow), where a per-unit KL is
    not defined.
    """
    if not (isinstance(q, Independent) and isinstance(p, Independent)):
        return None
    if q.reinterpreted_batch_ndims != 1 or p.reinterpreted_batch_ndims != 1:
        return None
    return kl_estimate(q.base_dist, p.base_dist, z, analytic)  # per unit: the same rule on the factors
