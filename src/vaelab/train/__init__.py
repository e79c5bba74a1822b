"""The training loop, checkpoints and resume, metric logging."""

from vaelab.train.checkpoint import (CheckpointError, file_digest, load_checkpoint, read_checkpoint, save_atomic, verify,
                                     verify_file)
from vaelab.train.density_fit import DensityFit, fit_density, grid_log_normaliser, grid_points
from vaelab.train.errors import TrainingError
from vaelab.train.loop import BEST, LAST, TrainData, fit, learning_rate
from vaelab.train.metrics import MetricsLog, read_metrics
from vaelab.train.runlock import RunFolderBusy, RunLock
from vaelab.train.settings import TrainSettings
from vaelab.train.stop import TrainingStopped, resume_command

__all__ = ["fit", "TrainData", "TrainingError", "TrainSettings", "learning_rate", "CheckpointError",
           "load_checkpoint", "read_checkpoint", "save_atomic", "verify", "file_digest", "verify_file",
           "MetricsLog", "read_metrics", "LAST", "BEST", "RunFolderBusy", "RunLock", "TrainingStopped",
           "resume_command", "DensityFit", "fit_density", "grid_log_normaliser", "grid_points"]
