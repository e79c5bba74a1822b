"""The Python API for notebooks and scripts: the command line's verbs as functions (docs/guides/python-api.md).

`import vaelab` is cheap; each of these names is imported from here (or from runs, pretrained, config, presets) the first
time it is used:

    vaelab.train(config, run_dir)        vaelab train CONFIG --run-dir RUN_DIR
    vaelab.load_run(run_dir)             the run's config, model (eval mode), data splits and metrics
    vaelab.evaluate(run_dir)             vaelab evaluate RUN_DIR (writes eval.json, returns its numbers)
    vaelab.sample(run_dir)               vaelab sample RUN_DIR
    vaelab.export(run_dir, out)          vaelab export RUN_DIR OUT (vaelab.pretrained)
    vaelab.load_pretrained(out)          the model of an exported folder, without unpickling anything
    vaelab.load_config(source)           a Config from a YAML file, a preset name, a dict or a Config
    vaelab.list_presets()                vaelab presets
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from vaelab.config import Config
from vaelab.data import Splits
from vaelab import runs
from vaelab.runs import EVAL_FILE, train_run
from vaelab.train import read_metrics

METRICS_FILE = "metrics.jsonl"


@dataclass(frozen=True)
class Run:
    """A trained run as load_run returns it."""

    run_dir: Path  # the run folder
    config: Config  # its config.yaml
    model: nn.Module  # the checkpoint's model in eval mode, batch-norm statistics recomputed over the training data
    splits: Splits  # the data as training and evaluation see it: train, val, test and their labels
    metrics: list[dict[str, Any]]  # metrics.jsonl: one record per epoch (train_elbo, val_elbo, ...)
    checkpoint: str  # best or last: the checkpoint the model comes from
    epoch: int  # the epoch of that checkpoint
    evaluation: dict[str, Any] | None  # eval.json of the last vaelab evaluate, None before one


def train(config: str | Path | dict | Config | None, run_dir: str | Path, overrides: list[str] | tuple[str, ...] = (),
          resume: bool = False, init_from: str | Path | None = None, nproc: int = 1,
          fallback: bool = False) -> list[dict[str, Any]]:
    """`vaelab train`: a new run in run_dir from config, or (resume=True, config None) continue the run there.

    config: a YAML file, a preset name (`"demo"`, `"lvae/mnist-5layer"`), a nested dict as a YAML file holds
    it, or a Config. overrides: `"section.key=value"` strings, as `--set`. init_from, nproc, fallback: as
    `--init-from`, `--nproc`, `--fallback-checkpoint`. Returns this call's epoch records (metrics.jsonl).
    """
    return train_run(config, run_dir, list(overrides), resume=resume, init_from=init_from, nproc=nproc,
                     fallback=fallback)


def load_run(run_dir: str | Path, checkpoint: str = "best", fallback: bool = False) -> Run:
    """A trained run: config, model (eval mode, from its best or last checkpoint), data splits and metrics.

    The model is what `vaelab evaluate` evaluates: batch-norm statistics recomputed over the training data.
    """
    run_dir = Path(run_dir)
    config, model, splits, state = runs.load_run(run_dir, checkpoint, fallback=fallback)
    evaluation = run_dir / EVAL_FILE
    return Run(run_dir, config, model, splits, read_metrics(run_dir / METRICS_FILE), checkpoint, state["epoch"],
               json.loads(evaluation.read_text()) if evaluation.is_file() else None)
