"""The Ladder VAE's precision-weighted combination of bottom-up and top-down Gaussians (LVAE eqs. 17-18)."""

from __future__ import annotations

from torch import Tensor


def precision_weighted_merge(mu_hat: Tensor, var_hat: Tensor, mu_p: Tensor, var_p: Tensor) -> tuple[Tensor, Tensor]:
    """Combine the data term N(mu_hat, var_hat) with the prior term N(mu_p, var_p).

    eq. 17: var_q = 1 / (1/var_hat + 1/var_p)
    eq. 18: mu_q  = (mu_hat/var_hat + mu_p/var_p) * var_q
    All tensors (N, D); returns (mu_q, var_q).
    """
    prec_hat, prec_p = 1.0 / var_hat, 1.0 / var_p
    var_q = 1.0 / (prec_hat + prec_p)
    mu_q = (mu_hat * prec_hat + mu_p * prec_p) * var_q
    return mu_q, var_q
