"""A model object built in Python (own encoder or decoder, docs/guides/own-networks.md), trained and evaluated by the
same loop and estimators as `vaelab train` and `vaelab evaluate`.

The config gives everything but the model: the data, the training settings (train.*), the evaluation settings
(eval.*); its model section must describe the family the object belongs to (model.family and the sizes its heads
use), and is recorded in the run folder's config.yaml with the data and training settings. Checkpoints record the
object's layout, so a run with own networks is evaluated (or resumed) only with a model built the same way:

    model = LadderVAE(64, config.model.params, encoder=MyEncoder(), decoder=MyDecoder())
    train_model(model, config, "runs/own")
    evaluate_model(LadderVAE(64, config.model.params, encoder=MyEncoder(), decoder=MyDecoder()), "runs/own")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from vaelab.config import Config, config_to_dict, load_config
from vaelab.runs import CONFIG_FILE, RESUMABLE_OVERRIDES, RunError, evaluate_run, fit_config, load_run
from vaelab.train import LAST, RunLock
from vaelab.train.distributed import current_group


def _flat(config: Config) -> dict[str, Any]:
    """section.key -> value."""
    return {f"{s}.{k}": v for s, keys in config_to_dict(config).items() if isinstance(keys, dict)
            for k, v in keys.items()}


def _check_resumable(config: Config, run_dir: Path) -> None:
    """RunError unless config equals the run's own config.yaml but for the keys a resume may change."""
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunError(f"{run_dir} holds no run to resume (no {CONFIG_FILE}); call train_model without resume")
    stored, given = _flat(load_config(run_dir / CONFIG_FILE)), _flat(config)
    changed = sorted(k for k in stored.keys() | given.keys()
                     if stored.get(k) != given.get(k) and k not in RESUMABLE_OVERRIDES)
    if changed:
        raise RunError(f"the config given differs from {run_dir / CONFIG_FILE} in {changed[0]}; a resumed run keeps "
                       f"its config but for {', '.join(sorted(RESUMABLE_OVERRIDES))}")


def train_model(model: nn.Module, config: Config, run_dir: str | Path, resume: bool = False) -> list[dict]:
    """Train `model` (an object honouring the model contract, e.g. a LadderVAE with an own encoder) on config's data
    with config's train settings, in run_dir, through the loop of `vaelab train`; returns this call's epoch records.

    resume: continue the run in run_dir where it stopped (the same model must be built again and config must equal
    the run's, but for the keys `vaelab train --resume --set` may change, e.g. train.epochs).
    The run folder is the same as the command's (config.yaml, checkpoints, metrics.jsonl); see own_models' module
    docstring for how it is evaluated.
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir, current_group()):
        if resume:
            _check_resumable(config, run_dir)
        elif (run_dir / LAST).exists():
            raise RunError(f"{run_dir} already holds a run; pass resume=True to continue it or choose another run_dir")
        return fit_config(config, run_dir, resume=resume, model=model)


def evaluate_model(model: nn.Module, run_dir: str | Path, split: str = "test", iw_samples: int | None = None,
                   checkpoint: str = "best", limit: int | None = None, progress: bool = True) -> dict[str, Any]:
    """`vaelab evaluate` of a run trained by train_model: the checkpoint's weights are loaded into `model` (built as
    it was for training), then ELBO, L_K (log_likelihood, K = iw_samples or eval.iw_samples), KL per layer and active
    units of `split` (semi-supervised: the classification error too) are written to eval.json and returned."""
    return evaluate_run(run_dir, split, iw_samples, checkpoint, limit, progress, model=model)


def load_model(model: nn.Module, run_dir: str | Path, checkpoint: str = "best") -> nn.Module:
    """`model` with the weights of a train_model run's best (or last) checkpoint, in eval mode, batch-norm statistics
    recomputed over the training data (as vaelab evaluate does)."""
    return load_run(run_dir, checkpoint, model=model)[1]
