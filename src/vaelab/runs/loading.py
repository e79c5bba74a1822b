"""A run folder's checkpoint, checked against its config, and the model rebuilt with its weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from vaelab.config import Config, ConfigError, config_from_dict, config_to_dict
from vaelab.data import Splits
from vaelab.evaluation import has_batchnorm, recompute_batchnorm
from vaelab.models import MODELS
from vaelab.runs.building import TRAIN_BN_SEED, build_model, fixed_train, model_metadata, own_architecture, prepare_data
from vaelab.runs.folder import RunError, _run_config
from vaelab.train import BEST, LAST
from vaelab.train.checkpoint import CheckpointError, check_metadata, previous_path, read_checkpoint

def _check_architecture(path: Path, state: dict[str, Any], want: str | None) -> None:
    have = state.get("metadata", {}).get("architecture")
    if have == want:
        return
    if want is None:
        raise CheckpointError(f"checkpoint {path} holds a model with own networks ({have}) that config.yaml cannot "
                              "rebuild; load it in Python with vaelab.own_models.evaluate_model(model, run_dir), the "
                              "model built as for training")
    raise CheckpointError(f"checkpoint {path} holds {have or 'the model config.yaml describes'}, not the model given "
                          f"({want}); build the model as it was built for training")


def _with_current_defaults(metadata: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's model metadata with settings added to its family since then filled by their defaults."""
    params = metadata.get("params")
    if metadata.get("family") not in MODELS or not isinstance(params, dict):
        return metadata
    try:
        return {**metadata, "params": config_to_dict(config_from_dict({"model": params}))["model"]}
    except ConfigError:
        return metadata  # not a model this version can build: the comparison will say so


def check_checkpoint(path: Path, config: Config, input_dim: int, fallback: bool = False,
                     architecture: str | None = None) -> tuple[Path, dict[str, Any]]:
    """(the file read, its state): a verified checkpoint that holds the model this config describes.

    fallback: where `path` is damaged, read its previous version instead (announced on stderr).
    architecture: that of a model object given from Python (own_architecture); None for the one config builds.
    """
    read, state = read_checkpoint(path, fallback)
    check_metadata(read, state, model_metadata(config, input_dim), normalise=_with_current_defaults)
    _check_architecture(read, state, architecture)
    return read, state


def load_weights(model: nn.Module, state: dict[str, Any], path: Path) -> None:
    """The checkpoint's weights into model; CheckpointError when they do not fit it."""
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as err:
        raise CheckpointError(f"checkpoint {path} does not fit this model ({str(err).splitlines()[0][:120]})") from None


def checkpoint_position(state: dict[str, Any]) -> dict[str, Any]:
    """For a checkpoint written inside an epoch: where (what eval.json records beside its epoch)."""
    position = state.get("in_epoch")
    if position is None:
        return {}
    return {"in_epoch": f"step {position['batches']} of {position['of']} of epoch {position['epoch']}"}


def load_run(run_dir: str | Path, checkpoint: str = "best", eval_overrides: list[str] = (), fallback: bool = False,
             model: nn.Module | None = None) -> tuple[Config, nn.Module, Splits, dict]:
    """Rebuild a run's config, data splits and model with the weights of its best or last checkpoint.

    eval_overrides: `eval.KEY=VALUE` settings for this evaluation only (the run's config file is unchanged).
    fallback: where the checkpoint is damaged, read its previous version (best.prev.pt, checkpoint.prev.pt).
    model: the model object to load the weights into, for a run trained with own networks (own_models.py);
    None builds the one config.yaml describes.

    The model is returned in eval mode, its batch-norm statistics recomputed over the training data
    (binarised once with a fixed seed, and z drawn with a fixed seed), as the original LVAE code did before every
    evaluation (DESIGN.md §4).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"run folder {run_dir} does not exist; give the --run-dir of a trained run")
    if checkpoint not in ("best", "last"):
        raise RunError(f"--checkpoint must be best or last, got {checkpoint!r}")
    bad = [o for o in eval_overrides if not o.partition("=")[0].strip().startswith("eval.")]
    if bad:
        raise RunError(f"--set {bad[0]}: evaluation may change eval.* settings only")
    config = _run_config(run_dir, list(eval_overrides))
    splits = prepare_data(config)
    architecture = own_architecture(model, config, splits.train.shape[1])
    model = build_model(config, splits.train.shape[1]) if model is None else model
    path = run_dir / (BEST if checkpoint == "best" else LAST)
    if checkpoint == "best" and not path.exists() and not previous_path(path).exists():
        path = run_dir / LAST
    path, state = check_checkpoint(path, config, splits.train.shape[1], fallback, architecture)
    load_weights(model, state, path)
    if has_batchnorm(model):  # seeded: the generative path's statistics depend on the z drawn, so the same
        # checkpoint always gives the same model (and an export the numbers of evaluate); the caller's state is kept
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(TRAIN_BN_SEED)
            recompute_batchnorm(model, fixed_train(splits, config, TRAIN_BN_SEED), config.eval.bn_batch_size)
    model.eval()
    return config, model, splits, state
