"""Evaluation of a semi-supervised run: classification error, confusion matrix, bounds with y summed out."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vaelab.evaluation.settings import EvalSettings
from vaelab.models.semisupervised import class_probabilities
from vaelab.objectives.semisupervised import labelled_log_likelihood, unlabelled_bound, unlabelled_log_likelihood


def confusion_matrix(y_true: Tensor, y_pred: Tensor, classes: int) -> Tensor:
    """(C, C) counts: row = true class, column = predicted class."""
    return torch.bincount(y_true * classes + y_pred, minlength=classes * classes).view(classes, classes)


@torch.no_grad()
def _bounds(model: nn.Module, x: Tensor, y: Tensor, k: int, s: EvalSettings, progress: bool) -> dict[str, Tensor]:
    """Per example: -U(x), L_K on log p(x) (y summed exactly) and L_K on log p(x, y), each (N,)."""
    classes = model.params.classes
    chunk = max(1, s.sample_chunk // classes)  # an enumerated pass has C rows per sample
    out: dict[str, list[Tensor]] = {"elbo": [], "log_likelihood": [], "log_likelihood_xy": []}
    bar = tqdm(total=x.shape[0], desc=f"L_{k}", unit="example", disable=not progress)
    try:
        for xb, yb in zip(x.split(s.batch_size), y.split(s.batch_size)):
            out["elbo"].append(unlabelled_bound(model, xb).bound.double())
            out["log_likelihood"].append(unlabelled_log_likelihood(model, xb, k, chunk))
            out["log_likelihood_xy"].append(labelled_log_likelihood(model, xb, yb, k, s.sample_chunk))
            bar.update(xb.shape[0])
    finally:
        bar.close()
    return {key: torch.cat(v) for key, v in out.items()}


def semi_supervised_metrics(model: nn.Module, x: Tensor, y: Tensor, k: int, s: EvalSettings,
                            progress: bool = False, x_classify: Tensor | None = None) -> dict[str, Any]:
    """The eval.json fields of a semi-supervised run on (x (N, D), y (N,)); model in eval mode.

    x_classify (N, D): the inputs of the classification error when they differ from x's (eval.classify_inputs
    grey: the grey levels behind a binarised x); the bounds always read x.
    """
    model.eval()
    probs = class_probabilities(model, x if x_classify is None else x_classify, s.classify_samples, s.batch_size)
    pred = probs.argmax(1)
    error = float((pred != y).float().mean())
    bounds = _bounds(model, x, y, k, s, progress)
    se = lambda v: float(v.std() / math.sqrt(v.shape[0])) if v.shape[0] > 1 else float("nan")  # noqa: E731
    return {
        "error": error, "error_se": math.sqrt(error * (1 - error) / x.shape[0]),
        "confusion_matrix": confusion_matrix(y, pred, probs.shape[1]).tolist(),
        "classify_samples": s.classify_samples,
        "elbo": float(bounds["elbo"].mean()), "elbo_se": se(bounds["elbo"]),
        "log_likelihood": float(bounds["log_likelihood"].mean()), "log_likelihood_se": se(bounds["log_likelihood"]),
        "log_likelihood_xy": float(bounds["log_likelihood_xy"].mean()),
        "bound": (f"elbo is -U(x) (ADGM eq. 27, y summed exactly, 1 sample of a and z); log_likelihood is the "
                  f"importance-weighted bound on log p(x) with K={k} and y summed exactly; log_likelihood_xy the "
                  f"one on log p(x, y) with the true labels"),
    }
