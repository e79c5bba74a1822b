"""Probability maths only: KL with analytic/Monte Carlo fallback, log-mean-exp, streaming logsumexp."""

from vaelab.distributions.kl import kl_estimate, kl_per_unit, has_analytic_kl
from vaelab.distributions.logmeanexp import log_mean_exp, StreamingLogMeanExp

__all__ = ["kl_estimate", "kl_per_unit", "has_analytic_kl", "log_mean_exp", "StreamingLogMeanExp"]
