"""The labelled / unlabelled split of semi-supervised learning (ADGM section 3).

A balanced labelled subset: n examples of every class, drawn with a seeded generator, so a run's labels are
reproducible from its config; the remaining training examples are the unlabelled set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from vaelab.data.errors import DataError


def check_labels(labels: np.ndarray | torch.Tensor, classes: int, what: str) -> None:
    """Raise DataError unless every label is an integer class in 0..classes-1."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{what}: labels must be integers 0..{classes - 1}, got dtype {labels.dtype}")
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= classes:
        raise DataError(f"{what}: labels span {low}..{high} but the model has {classes} classes (0..{classes - 1}); "
                        f"set model.classes to the number of classes of the data set")


def balanced_labelled_subset(labels: np.ndarray | torch.Tensor, per_class: int, classes: int,
                             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(labelled, unlabelled) sorted index arrays: `per_class` examples of every class, the rest unlabelled.

    Raises DataError for labels outside 0..classes-1 or a class with fewer than per_class examples.
    """
    labels = np.asarray(labels)
    check_labels(labels, classes, "training set")
    if per_class < 1:
        raise DataError(f"data.labelled_per_class must be >= 1 for a semi-supervised model, got {per_class}")
    counts = np.bincount(labels, minlength=classes)
    short = [c for c in range(classes) if counts[c] < per_class]
    if short:
        c = short[0]
        raise DataError(f"{per_class} labels per class requested but class {c} has only {counts[c]} training "
                        f"examples; lower data.labelled_per_class to at most {int(counts.min())}")
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
                             for c in range(classes)])
    labelled = np.sort(chosen)
    unlabelled = np.setdiff1d(np.arange(len(labels)), labelled)
    return labelled, unlabelled


@dataclass(eq=False)
class LabelledSplit:
    """The training split divided for semi-supervised learning; x are grey levels if the run binarises."""

    x_labelled: torch.Tensor  # (N_l, D)
    y_labelled: torch.Tensor  # (N_l,) int64
    x_unlabelled: torch.Tensor  # (N_u, D)
    labelled_index: np.ndarray  # (N_l,) positions in the training split

    def record(self, per_class: int, seed: int) -> dict:
        """What the run folder keeps (labelled.json): enough to check which examples carried labels."""
        return {"per_class": per_class, "seed": seed, "n_labelled": int(len(self.labelled_index)),
                "n_unlabelled": int(self.x_unlabelled.shape[0]),
                "index_in_training_split": self.labelled_index.tolist(),
                "labels": self.y_labelled.tolist()}


def split_labelled(x: torch.Tensor, y: torch.Tensor, per_class: int, classes: int, seed: int) -> LabelledSplit:
    """Divide a training split (x (N, D), y (N,)) into a balanced labelled subset and the unlabelled rest."""
    labelled, unlabelled = balanced_labelled_subset(y.numpy(), per_class, classes, seed)
    li, ui = torch.from_numpy(labelled), torch.from_numpy(unlabelled)
    return LabelledSplit(x[li], y[li], x[ui], labelled)
