"""`vaelab evaluate`: the bounds, diagnostics and (semi-supervised) classification error of a run, in eval.json."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vaelab.config import Config
from vaelab.data import Splits, grey_levels
from vaelab.execution import Execution
from vaelab.evaluation import (active_units, log_likelihood, semi_supervised_metrics, standard_error,
                               summarise_bounds)
from vaelab.generation import aggregate_posterior, aggregate_report, sample_quality
from vaelab.models import takes_labels
from vaelab.runs.building import TRAIN_EVAL_SEED, classify_inputs, fixed_train
from vaelab.runs.folder import EVAL_FILE, RunError, _write_text_atomic
from vaelab.runs.loading import checkpoint_position, load_run

def _split_tensor(splits: Splits, config: Config, split: str) -> torch.Tensor:
    """The evaluation tensor of a split; train data is binarised (or dequantised) once with a fixed seed, like test."""
    table = {"test": splits.test, "val": splits.val, "train": splits.train}
    if split not in table:
        raise RunError(f"--split must be one of test, val, train; got {split!r}")
    x = fixed_train(splits, config, TRAIN_EVAL_SEED) if split == "train" else table[split]
    if x.shape[0] == 0:
        raise RunError(f"the {split} split is empty; set data.validation > 0 to evaluate on val")
    return x


def _density_scale(config: Config, ll: torch.Tensor, dim: int) -> dict[str, Any]:
    """For real-valued data: the scale of the density and, when dequantised, the discrete log-likelihood bound."""
    if config.data.binarize:
        return {}
    out: dict[str, Any] = {"density": "continuous density of pixel intensities in [0, 1], nats per image "
                                      "(the Balancing-ELBO paper's scale); bits_per_dim is its negative in bits"}
    if config.data.dequantize:
        discrete = float(ll.mean()) - dim * np.log(grey_levels(config.data.name))
        out.update({"log_likelihood_discrete": discrete, "bits_per_dim_discrete": -discrete / (dim * np.log(2.0)),
                    "discrete": "bound on log P(8-bit image): log_likelihood - D log(grey levels)"})
    return out


def _generation_report(run_dir: Path, config: Config, model: nn.Module, splits: Splits, state: dict,
                       checkpoint: str, x: torch.Tensor, k: int, quality: bool, inception: str | None) -> dict[str, Any]:
    """Aggregate-posterior KL and L_K on x (eval.aggregate_posterior) and, if asked, sample quality."""
    agg, out = None, {}
    if config.eval.aggregate_posterior and config.eval.aggregate_components > 0:
        agg = aggregate_posterior(run_dir, config, model, fixed_train(splits, config, TRAIN_EVAL_SEED),
                                  checkpoint, state["epoch"], state.get("sha256"))
        out["aggregate_posterior"] = aggregate_report(agg, config, model, x, k)
    if quality:
        out["sample_quality"] = sample_quality(model, config, agg, inception)
    return out


def evaluate_run(run_dir: str | Path, split: str = "test", iw_samples: int | None = None,
                 checkpoint: str = "best", limit: int | None = None, progress: bool = True,
                 quality: bool = False, inception: str | None = None, overrides: list[str] = (),
                 fallback: bool = False, model: nn.Module | None = None) -> dict[str, Any]:
    """`vaelab evaluate`: ELBO, L_K, KL per layer, active units of one split, KL(aggregate posterior || prior)
    and, with quality, Fréchet distances of prior and aggregate samples; written to eval.json.
    overrides: eval.* settings for this evaluation (e.g. eval.compile=true); fallback, model: see load_run."""
    run_dir = Path(run_dir)
    config, model, splits, state = load_run(run_dir, checkpoint, overrides, fallback, model)
    s = config.eval
    k = iw_samples or s.iw_samples
    x = _split_tensor(splits, config, split)[: limit or None]
    start = time.time()
    if takes_labels(model):  # semi-supervised: error, confusion matrix, bounds with y summed out
        y = {"test": splits.test_labels, "val": splits.val_labels, "train": splits.train_labels}[split]
        grey = classify_inputs(splits, config, split)
        grey = None if grey is None else grey[: limit or None]
        metrics = semi_supervised_metrics(model, x, y[: limit or None], k, s, progress, grey)
        result = {"split": split, "n": int(x.shape[0]), "iw_samples": k, "checkpoint": checkpoint,
                  "epoch": state["epoch"], **checkpoint_position(state), **metrics,
                  "classify_inputs": _classified(splits, grey),
                  "seconds": time.time() - start}
        return _write_eval(run_dir, split, k, result)
    summary = summarise_bounds(model, x, s.batch_size)
    ex = Execution.from_settings(s)  # the L_K pass, the costly part, runs on eval.device
    try:
        ll = log_likelihood(model.to(ex.device), x, k, s.batch_size, s.sample_chunk, progress, ex)
    finally:
        model.cpu()
    dim = x.shape[1]
    result = {
        "split": split, "n": int(x.shape[0]), "iw_samples": k, "checkpoint": checkpoint, "epoch": state["epoch"],
        **checkpoint_position(state), "elbo": float(summary.elbo.mean()), "elbo_se": standard_error(summary.elbo),
        "log_likelihood": float(ll.mean()), "log_likelihood_se": standard_error(ll),
        "bound": f"L_{k} (importance-weighted, K={k}); elbo is L_1 with the analytic KL per layer where the "
                 "pair has one, Monte Carlo otherwise (flow posteriors)",
        "bits_per_dim": -float(ll.mean()) / (dim * np.log(2.0)),
        **_density_scale(config, ll, dim),
        "reconstruction": float(summary.reconstruction.mean()),
        "kl_per_layer": {kname: float(v.mean()) for kname, v in summary.kl_per_layer.items()},
        "kl_per_unit": {kname: v.tolist() for kname, v in summary.kl_per_unit.items()},
        "active_units": active_units(summary.posterior_mean, s.active_threshold),
        # the other common count: units whose KL(q||p), averaged over the data, exceeds the threshold
        "active_units_kl": {kname: int((v > s.active_threshold).sum()) for kname, v in summary.kl_per_unit.items()},
        **_generation_report(run_dir, config, model, splits, state, checkpoint, x, k, quality, inception),
        "seconds": time.time() - start,
    }
    return _write_eval(run_dir, split, k, result)


def _classified(splits: Splits, grey: torch.Tensor | None) -> str:
    """What the classification error read: grey levels, binarised inputs, or the data as stored (real-valued)."""
    return "grey" if grey is not None else "binarised" if splits.binarize else "as stored"


def _write_eval(run_dir: Path, split: str, k: int, result: dict[str, Any]) -> dict[str, Any]:
    """eval.json and eval-<split>-K<k>.json."""
    text = json.dumps(result, indent=2)
    _write_text_atomic(run_dir / EVAL_FILE, text)
    _write_text_atomic(run_dir / f"eval-{split}-K{k}.json", text)
    return result
