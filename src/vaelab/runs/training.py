"""`vaelab train`: a new run in a run folder, or a resumed one, under the folder's lock."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vaelab.config import Config, ConfigError, dump_config, load_config
from vaelab.data import Splits, check_labels, grey_levels, split_labelled
from vaelab.models import MODELS, takes_labels
from vaelab.objectives.label_weighting import LABEL_WEIGHTINGS
from vaelab.objectives.semisupervised import BATCH_WEIGHTINGS
from vaelab.runs.building import (_check_fits, build_model, classify_inputs, data_seed, model_metadata,
                                  own_architecture, prepare_data)
from vaelab.runs.folder import (CONFIG_FILE, LABELLED_FILE, RunError, _require_run_folder, _run_config,
                                _write_text_atomic)
from vaelab.runs.loading import check_checkpoint, load_weights
from vaelab.train.checkpoint import previous_path, promote_previous, read_checkpoint
from vaelab.train.distributed import current_group, launch
from vaelab.train.freeze import check_freeze
from vaelab.train import LAST, RunLock, TrainData, fit, read_metrics
from vaelab.train.semisupervised import SemiSupervisedData

RESUMABLE_OVERRIDES = {"train.epochs", "train.progress", "train.threads", "train.device", "train.precision",
                       "train.compile", "train.check_distributions", "train.checkpoint_every_steps"}


def _resume_config(run_dir: Path, overrides: list[str]) -> Config:
    bad = [o for o in overrides if o.partition("=")[0].strip() not in RESUMABLE_OVERRIDES]
    if bad:
        raise RunError(f"--set {bad[0]} cannot change a run being resumed; only {', '.join(sorted(RESUMABLE_OVERRIDES))} can")
    return _run_config(run_dir, overrides)


SEMI_SUPERVISED_ONLY = {("data", "labelled_per_class"): 0, ("data", "binarize_every"): "epoch",
                        ("data", "unlabelled_set"): "rest", ("data", "labelled_choice"): "random",
                        ("train", "unlabelled_order"): "shuffled"}  # key -> the value every other family keeps


def _unsupervised_task(config: Config, splits: Splits, run_dir: Path) -> TrainData:
    for (section, key), default in SEMI_SUPERVISED_ONLY.items():
        if getattr(getattr(config, section), key) != default:
            raise ConfigError(f"{section}.{key} is for the semi-supervised families (m2, adgm, sdgm), not "
                              f"{config.model.family}; remove it")
    levels = grey_levels(config.data.name) if config.data.dequantize else 0
    return TrainData(splits.train, splits.val, splits.binarize, dequantize_levels=levels,
                     noise_width=splits.noise_width)


def _semi_supervised_task(config: Config, splits: Splits, run_dir: Path) -> SemiSupervisedData:
    """The labelled subset (recorded in labelled.json) and the rest, for a semi-supervised family."""
    p, d, t = config.model.params, config.data, config.train
    if d.labelled_per_class < 1:
        raise ConfigError(f"model.family {config.model.family} is semi-supervised: set data.labelled_per_class "
                          f"(labelled examples per class, e.g. 10 for MNIST with 100 labels)")
    if splits.num_classes == 0:
        raise ConfigError(f"model.family {config.model.family} learns from labels but {d.path or d.name} holds none "
                          f"(npz: add y; images: one folder per class); train an unsupervised family on it instead")
    if p.classes != splits.num_classes:
        raise ConfigError(f"model.classes is {p.classes} but {d.name} has {splits.num_classes} classes; "
                          f"set model.classes: {splits.num_classes}")
    if d.dequantize:
        raise ConfigError("data.dequantize is not available for the semi-supervised families (SVHN and NORB add "
                          "their own uniform noise anew every epoch); remove data.dequantize")
    if t.iw_samples != 1:
        raise ConfigError("train.iw_samples > 1 is not available for the semi-supervised families; "
                          "use train.eq_samples for more samples of a and z")
    check_labels(splits.val_labels, p.classes, "validation set")
    draw_seed = data_seed(config)
    split = split_labelled(splits.train, splits.train_labels, d.labelled_per_class, p.classes, draw_seed,
                           d.labelled_choice, d.unlabelled_set)
    for key, registry in (("batch_weighting", BATCH_WEIGHTINGS), ("label_weights", LABEL_WEIGHTINGS)):
        if getattr(t, key) not in registry:
            raise ConfigError(f"train.{key} is {getattr(t, key)!r}; choose one of {sorted(registry)}")
    if (t.labelled_batch or t.batch_size // 2) < 1:
        raise ConfigError("train.batch_size must be at least 2 for a semi-supervised family (labelled + unlabelled)")
    if current_group().main:  # one writer in a data-parallel run
        record = split.record(d.labelled_per_class, draw_seed, d.labelled_choice)
        _write_text_atomic(run_dir / LABELLED_FILE, json.dumps(record))
    return SemiSupervisedData(split, splits.val, splits.val_labels, splits.binarize, t.classification_weight,
                              t.labelled_batch, config.eval.classify_samples, splits.noise_width, d.binarize_every,
                              classify_inputs(splits, config, "val"))


TASKS = {False: _unsupervised_task, True: _semi_supervised_task}  # keyed by takes_labels(family)


def train_run(config_path: str | Path | dict | Config | None, run_dir: str | Path, overrides: list[str] = (),
              resume: bool = False, init_from: str | Path | None = None, nproc: int = 1,
              fallback: bool = False) -> list[dict]:
    """`vaelab train` and vaelab.train: a new run in run_dir, or (resume) continue the run already there.

    config_path: what config.load_config reads (a YAML file, a preset name, a dict or a Config); None with resume.

    init_from: start a new run from the weights of another run's last checkpoint (e.g. the LVAE paper's
    fine-tuning); its model must match this config's model.
    fallback: where the checkpoint to start from is damaged, use its previous version (checkpoint.prev.pt).

    The process holds run_dir's lock (train/runlock.py) while it writes there: a second writer stops at once.
    nproc > 1 trains data-parallel in that many processes (train/distributed.py); the arguments are checked
    here first, so that a user error is one line, then every process runs _train_process under the lock this
    process holds. Returns this call's epoch records (read back from metrics.jsonl after a data-parallel run).
    """
    run_dir, overrides = Path(run_dir), list(overrides)
    if nproc < 1:
        raise ConfigError(f"--nproc must be >= 1, got {nproc}")
    if resume and config_path is not None:
        raise RunError("a resumed run keeps its own config.yaml: give no config to resume (change settings with "
                       "--set, e.g. train.epochs)")
    if resume:
        _require_run_folder(run_dir)  # no lock file in a folder that holds no run
    else:
        load_config(config_path, overrides)  # a bad config is an error before the folder is touched
    if nproc > 1:
        with RunLock(run_dir):  # this launcher holds it; the processes it starts write under it
            prepare_data(_train_config(config_path, run_dir, overrides, resume))  # errors before spawning
            if resume and fallback:
                _resume_state(run_dir, None, 0, True)  # put a good checkpoint.pt in place for the processes
            first = len(read_metrics(run_dir / "metrics.jsonl")) if resume else 0
            launch(nproc, _train_process, config_path, run_dir, overrides, resume, init_from, False)
        return read_metrics(run_dir / "metrics.jsonl")[first:]
    with RunLock(run_dir, current_group()):  # under torchrun rank 0 takes it and every process learns the outcome
        return _train_process(config_path, run_dir, overrides, resume, init_from, fallback)


def _train_process(config_path: str | Path | dict | Config | None, run_dir: Path, overrides: list[str], resume: bool,
                   init_from: str | Path | None, fallback: bool) -> list[dict]:
    """One process's part of train_run, the run folder's lock being held (by this process or its launcher)."""
    config = _train_config(config_path, run_dir, overrides, resume)
    return fit_config(config, run_dir, resume, init_from, fallback)


def fit_config(config: Config, run_dir: Path, resume: bool = False, init_from: str | Path | None = None,
               fallback: bool = False, model: nn.Module | None = None) -> list[dict]:
    """Train config's model (or `model`, an object built in Python) on config's data in run_dir, whose lock the
    caller holds; the part of vaelab train after the config is read (see train_run for the arguments)."""
    group = current_group()
    splits = prepare_data(config)
    dim = splits.train.shape[1]
    torch.manual_seed(config.train.seed)  # the initial weights depend on the seed alone
    architecture = own_architecture(model, config, dim)
    if model is None:
        model = build_model(config, dim)
    else:
        _check_fits(model, splits)
    if init_from is not None:
        if resume:
            raise RunError("--init-from starts a new run; it cannot be combined with --resume")
        path, state = check_checkpoint(Path(init_from) / LAST, config, dim, fallback, architecture)
        load_weights(model, state, path)
    try:
        check_freeze(model, config.train.freeze)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    if group.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_text_atomic(run_dir / CONFIG_FILE, dump_config(config))
    if resume and not (run_dir / LAST).exists() and not previous_path(run_dir / LAST).exists():
        resume = False  # killed before the first checkpoint: start from the beginning
    data = TASKS[takes_labels(MODELS[config.model.family])](config, splits, run_dir)
    start = (_resume_state(run_dir, config, dim, fallback, promote=group.main, architecture=architecture)
             if resume else False)
    return fit(model, data, config.train, run_dir, start, model_metadata(config, dim, architecture), hold_lock=False)


def _resume_state(run_dir: Path, config: Config | None, input_dim: int, fallback: bool,
                  promote: bool = True, architecture: str | None = None) -> dict[str, Any]:
    """The checkpoint a resume starts from, checked against the config (when given); after a fallback the
    previous checkpoint takes the damaged one's place (which is kept as checkpoint.pt.damaged)."""
    last = run_dir / LAST
    if config is None:
        path, state = read_checkpoint(last, fallback)
    else:
        path, state = check_checkpoint(last, config, input_dim, fallback, architecture)
    if path != last and promote:
        damaged = promote_previous(last)
        print(f"vaelab: the damaged checkpoint is kept as {damaged}; {last} is now a copy of {path}", file=sys.stderr)
    return state


def train_or_resume(config_path: str | Path, run_dir: str | Path, overrides: list[str] = ()) -> list[dict]:
    """Continue the run in run_dir where it has a checkpoint (with the overrides a resume accepts), else start it.

    For scripts that may be cut and run again (benchmarks, experiments).
    """
    if (Path(run_dir) / LAST).exists():
        kept = [o for o in overrides if o.partition("=")[0].strip() in RESUMABLE_OVERRIDES]
        return train_run(None, run_dir, kept, resume=True)
    return train_run(config_path, run_dir, list(overrides))


def _train_config(config_path: str | Path | dict | Config | None, run_dir: Path, overrides: list[str],
                  resume: bool) -> Config:
    """The config of a new or resumed run, or the one-line error that says why there is none."""
    if resume:
        return _resume_config(run_dir, overrides)
    config = load_config(config_path, overrides)
    if (run_dir / LAST).exists():
        raise RunError(f"{run_dir} already holds a run; continue it with vaelab train --resume {run_dir} or choose another --run-dir")
    return config
