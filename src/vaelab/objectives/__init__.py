"""Every estimator written once over the model contract (DESIGN.md §3)."""

from vaelab.objectives.bounds import Objective, elbo, log_weights
from vaelab.objectives.density import LogDensity, density_log_weights
from vaelab.objectives.warmup import linear_warmup

__all__ = ["Objective", "elbo", "log_weights", "linear_warmup", "LogDensity", "density_log_weights"]
