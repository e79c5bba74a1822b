"""Evaluation: importance-sampled log-likelihood, latent diagnostics, batch-norm statistics, image grids."""

from vaelab.evaluation.analogies import analogies, class_rows, samples_per_class
from vaelab.evaluation.batchnorm import has_batchnorm, recompute_batchnorm
from vaelab.evaluation.classification import confusion_matrix, semi_supervised_metrics
from vaelab.evaluation.diagnostics import (BoundSummary, active_units, sample_latents, standard_error,
                                          summarise_bounds)
from vaelab.evaluation.images import save_grid, tile
from vaelab.evaluation.likelihood import log_likelihood
from vaelab.evaluation.settings import EvalSettings

__all__ = [
    "analogies",
    "class_rows",
    "samples_per_class",
    "confusion_matrix",
    "semi_supervised_metrics",
    "log_likelihood",
    "recompute_batchnorm",
    "has_batchnorm",
    "summarise_bounds",
    "BoundSummary",
    "active_units",
    "sample_latents",
    "standard_error",
    "save_grid",
    "tile",
    "EvalSettings",
]
