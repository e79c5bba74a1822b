"""Probability maths only: KL with analytic/Monte Carlo fallback, log-mean-exp, streaming logsumexp,
the flow posterior (a base density pushed through an invertible map)."""

from vaelab.distributions.flow import FlowPosterior
from vaelab.distributions.kl import kl_estimate, kl_per_unit, has_analytic_kl
from vaelab.distributions.logmeanexp import log_mean_exp, StreamingLogMeanExp

__all__ = ["FlowPosterior", "kl_estimate", "kl_per_unit", "has_analytic_kl", "log_mean_exp", "StreamingLogMeanExp"]
