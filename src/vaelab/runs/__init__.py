"""The run folder: what `vaelab train | evaluate | sample` do, composed from the package's parts.

A run folder holds config.yaml, checkpoint.pt (last epoch, or the place inside an epoch where training
stopped), best.pt (best validation ELBO), their previous versions checkpoint.prev.pt and best.prev.pt,
metrics.jsonl, tensorboard/, the writer's lock .lock, and after evaluation eval.json; after sampling, PNG
grids. One process writes it at a time (train/runlock.py); every file is replaced atomically, so evaluate,
sample and report can read a run while it trains (docs/guides/run-folder.md).

The parts, each importing only those before it: folder.py (the folder's files and config), building.py (the data
splits and the model a config builds), loading.py (a checkpoint checked and loaded), then training.py,
evaluation.py, sampling.py and classification.py (what `vaelab train | evaluate | sample | classify` do).
"""

from vaelab.runs.folder import CONFIG_FILE, EVAL_FILE, LABELLED_FILE, RunError
from vaelab.runs.building import (CLASSIFY_SEED, DEQUANTIZE_TEST_OFFSET, DEQUANTIZE_VAL_OFFSET, TRAIN_BN_SEED,
                                  TRAIN_EVAL_SEED, TRAINING_BYTES_PER_PARAMETER, build_model, classify_inputs,
                                  fixed_train, model_metadata, own_architecture, prepare_data)
from vaelab.runs.loading import check_checkpoint, checkpoint_position, load_run, load_weights
from vaelab.runs.training import (RESUMABLE_OVERRIDES, SEMI_SUPERVISED_ONLY, TASKS, fit_config, train_or_resume,
                                  train_run)
from vaelab.runs.evaluation import evaluate_run
from vaelab.runs.sampling import sample_run
from vaelab.runs.classification import classify_run

__all__ = ["CONFIG_FILE", "EVAL_FILE", "LABELLED_FILE", "RunError", "CLASSIFY_SEED", "DEQUANTIZE_TEST_OFFSET",
           "DEQUANTIZE_VAL_OFFSET", "TRAIN_BN_SEED", "TRAIN_EVAL_SEED", "TRAINING_BYTES_PER_PARAMETER", "build_model",
           "classify_inputs", "fixed_train", "model_metadata", "own_architecture", "prepare_data", "check_checkpoint",
           "checkpoint_position", "load_run", "load_weights", "RESUMABLE_OVERRIDES", "SEMI_SUPERVISED_ONLY", "TASKS",
           "fit_config", "train_or_resume", "train_run", "evaluate_run", "sample_run", "classify_run"]
