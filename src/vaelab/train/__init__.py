"""The training loop, checkpoints and resume, metric logging."""

from vaelab.train.checkpoint import CheckpointError, load_checkpoint, save_atomic
from vaelab.train.density_fit import DensityFit, fit_density, grid_log_normaliser, grid_points
from vaelab.train.loop import BEST, LAST, TrainData, TrainingError, fit, learning_rate
from vaelab.train.metrics import MetricsLog, read_metrics
from vaelab.train.settings import TrainSettings

__all__ = ["fit", "TrainData", "TrainingError", "TrainSettings", "learning_rate", "CheckpointError",
           "load_checkpoint", "save_atomic", "MetricsLog", "read_metrics", "LAST", "BEST",
           "DensityFit", "fit_density", "grid_log_normaliser", "grid_points"]
