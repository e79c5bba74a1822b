"""The labelled / unlabelled split of semi-supervised learning (ADGM section 3).

A balanced labelled subset: n examples of every class, chosen reproducibly from the config (data.labelled_choice):
`random` draws them with a seeded generator (the paper's MNIST setting: "chosen randomly, but distributed evenly
across classes"); `spread` takes, in every class, the example nearest to each centre of a seeded k-means with n
centres, so the labels cover the class evenly (the half-moons: points along each moon, as the authors' hand-placed
ends and middle); `moon_points` takes, on the half-moons, the training point of each class nearest to that moon's two
ends and apex, where the authors placed theirs. The remaining training examples are the unlabelled set (or, with
data.unlabelled_set: all, every training example).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn.cluster import KMeans

from vaelab.data.errors import DataError
from vaelab.data.moons import MOON_LABEL_POINTS


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


def _random_choice(x: np.ndarray | None, candidates: np.ndarray, n: int, rng: np.random.Generator,
                   cls: int) -> np.ndarray:
    """n of the candidate indices, uniformly without replacement."""
    return rng.choice(candidates, n, replace=False)


def _spread_choice(x: np.ndarray | None, candidates: np.ndarray, n: int, rng: np.random.Generator,
                   cls: int) -> np.ndarray:
    """The candidate nearest to each centre of a k-means with n centres on the candidates' inputs (distinct)."""
    if x is None:
        raise DataError("data.labelled_choice spread needs the inputs to place the labels; pass x")
    points = np.asarray(x[candidates], dtype=np.float64)  # (M, D)
    seed = int(rng.integers(2**31 - 1))
    centres = KMeans(n, n_init=4, random_state=seed).fit(points).cluster_centers_  # (n, D)
    distance = ((points[None, :, :] - centres[:, None, :]) ** 2).sum(-1)  # (n, M)
    chosen: list[int] = []
    for row in distance:  # nearest candidate not yet taken (two centres can share a nearest point)
        order = np.argsort(row)
        chosen.append(int(next(i for i in order if i not in chosen)))
    return candidates[np.array(chosen)]


def _moon_points_choice(x: np.ndarray | None, candidates: np.ndarray, n: int, rng: np.random.Generator,
                       cls: int) -> np.ndarray:
    """The candidate of class `cls` nearest to each of that moon's ends and apex (moons.MOON_LABEL_POINTS)."""
    if x is None or x.ndim != 2 or x.shape[1] != 2 or cls not in MOON_LABEL_POINTS:
        raise DataError("data.labelled_choice moon_points places labels on the two half-moons only (data.name: moons)")
    points = np.asarray(MOON_LABEL_POINTS[cls], dtype=np.float64)  # (3, 2)
    if n != len(points):
        raise DataError(f"data.labelled_choice moon_points places {len(points)} labels per class; "
                        f"set data.labelled_per_class: {len(points)}")
    distance = ((np.asarray(x[candidates], np.float64)[None] - points[:, None]) ** 2).sum(-1)  # (3, M)
    return candidates[distance.argmin(1)]  # the three targets lie far apart: three distinct points


Chooser = Callable[[np.ndarray | None, np.ndarray, int, np.random.Generator, int], np.ndarray]
LABELLED_CHOICES: dict[str, Chooser] = {"random": _random_choice, "spread": _spread_choice,
                                        "moon_points": _moon_points_choice}
UNLABELLED_SETS = ("rest", "all")  # the unlabelled set: the training examples without labels, or all of them


def balanced_labelled_subset(labels: np.ndarray | torch.Tensor, per_class: int, classes: int, seed: int,
                             choice: str = "random", x: np.ndarray | torch.Tensor | None = None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """(labelled, unlabelled) sorted index arrays: `per_class` examples of every class, the rest unlabelled.

    choice: a key of LABELLED_CHOICES (`spread` needs the inputs x, (N, D)). Raises DataError for labels outside
    0..classes-1, a class with fewer than per_class examples, or an unknown choice.
    """
    labels = np.asarray(labels)
    check_labels(labels, classes, "training set")
    if per_class < 1:
        raise DataError(f"data.labelled_per_class must be >= 1 for a semi-supervised model, got {per_class}")
    if choice not in LABELLED_CHOICES:
        raise DataError(f"unknown data.labelled_choice '{choice}'; choose one of: {', '.join(LABELLED_CHOICES)}")
    counts = np.bincount(labels, minlength=classes)
    short = [c for c in range(classes) if counts[c] < per_class]
    if short:
        c = short[0]
        raise DataError(f"{per_class} labels per class requested but class {c} has only {counts[c]} training "
                        f"examples; lower data.labelled_per_class to at most {int(counts.min())}")
    rng = np.random.default_rng(seed)
    inputs = None if x is None else np.asarray(x)
    chosen = np.concatenate([LABELLED_CHOICES[choice](inputs, np.flatnonzero(labels == c), per_class, rng, c)
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
    y_unlabelled: torch.Tensor | None = None  # (N_u,) true labels: never trained on, only to order the set (ablation)
    includes_labelled: bool = False  # x_unlabelled holds the labelled examples too (unlabelled_set: all)

    @property
    def n_without_labels(self) -> int:
        """N_u of eq. 12: the training examples that carry no label."""
        return self.x_unlabelled.shape[0] - (len(self.labelled_index) if self.includes_labelled else 0)

    def record(self, per_class: int, seed: int, choice: str = "random") -> dict:
        """What the run folder keeps (labelled.json): enough to check which examples carried labels."""
        return {"per_class": per_class, "seed": seed, "choice": choice, "n_labelled": int(len(self.labelled_index)),
                "n_unlabelled": int(self.x_unlabelled.shape[0]),
                "unlabelled_set": "all" if self.includes_labelled else "rest",
                "index_in_training_split": self.labelled_index.tolist(),
                "labels": self.y_labelled.tolist()}


def split_labelled(x: torch.Tensor, y: torch.Tensor, per_class: int, classes: int, seed: int,
                   choice: str = "random", unlabelled_set: str = "rest") -> LabelledSplit:
    """Divide a training split (x (N, D), y (N,)) into a balanced labelled subset (chosen by `choice`, a key of
    LABELLED_CHOICES) and the unlabelled set: the rest (`rest`) or, as the ADGM authors' code does
    (data_preparation/mnist.py:98), every training example, the labelled ones included (`all`)."""
    if unlabelled_set not in UNLABELLED_SETS:
        raise DataError(f"unknown data.unlabelled_set '{unlabelled_set}'; choose one of: {', '.join(UNLABELLED_SETS)}")
    labelled, unlabelled = balanced_labelled_subset(y.numpy(), per_class, classes, seed, choice, x.numpy())
    li = torch.from_numpy(labelled)
    if unlabelled_set == "all":
        return LabelledSplit(x[li], y[li], x, labelled, y, includes_labelled=True)
    ui = torch.from_numpy(unlabelled)
    return LabelledSplit(x[li], y[li], x[ui], labelled, y[ui])
