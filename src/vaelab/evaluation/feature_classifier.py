"""`fd_classifier`: a small MLP classifier that vaelab trains once per data set and keeps, whose penultimate
layer gives the feature space of a Fréchet distance between generated and test images.

It is *not* the FID: the FID uses Inception-v3 features of ImageNet (see inception.py); this distance is only
comparable between models evaluated with the same stored classifier (same file, same data set).
Stored as <classifier_dir>/<data set>.pt: tensors and plain values only, loaded with weights_only=True.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vaelab.layers import MLP

HIDDEN = (512, 128)  # features: the 128 ReLU units of the last hidden layer


def default_classifier_dir() -> Path:
    return Path.home() / ".cache" / "vaelab" / "fd_classifier"


class FeatureClassifier(nn.Module):
    """x (N, D) in [0, 1] -> logits (N, C); features(x) -> (N, 128)."""

    def __init__(self, input_dim: int, num_classes: int, hidden: tuple[int, ...] = HIDDEN) -> None:
        super().__init__()
        self.body = MLP(input_dim, list(hidden), "relu")
        self.out = nn.Linear(hidden[-1], num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.body(x))


def train_classifier(x: Tensor, y: Tensor, num_classes: int, epochs: int = 5, seed: int = 0,
                     batch_size: int = 128, lr: float = 1e-3) -> FeatureClassifier:
    """Adam on the cross-entropy; the global random state is left untouched."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        clf = FeatureClassifier(x.shape[1], num_classes)
        opt = torch.optim.Adam(clf.parameters(), lr=lr)
        for _ in range(epochs):
            for idx in torch.randperm(x.shape[0]).split(batch_size):
                loss = F.cross_entropy(clf(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return clf.eval()


@torch.no_grad()
def accuracy(clf: FeatureClassifier, x: Tensor, y: Tensor) -> float:
    return float((clf(x).argmax(-1) == y).float().mean())


@torch.no_grad()
def classifier_features(clf: FeatureClassifier, x: Tensor, batch_size: int = 1000) -> np.ndarray:
    """Features (N, 128) of images x (N, D), clipped to [0, 1] first (generated means may overshoot)."""
    return torch.cat([clf.features(xb.clamp(0, 1)) for xb in x.split(batch_size)]).double().numpy()


def _file_stem(dataset: str) -> str:
    """A file name for the data set: its name, or for one's own data (named by a path) the path's last part and a
    digest of the whole path, so two files of the same name keep two classifiers."""
    if re.fullmatch(r"[\w.-]+", dataset):
        return dataset
    digest = hashlib.sha256(dataset.encode()).hexdigest()[:12]
    stem = re.sub(r"[^\w.-]", "_", Path(dataset).name)
    return f"{stem}-{digest}"


def load_or_train_classifier(folder: str | Path, dataset: str, train: tuple[Tensor, Tensor],
                             test: tuple[Tensor, Tensor], num_classes: int, epochs: int = 5,
                             seed: int = 0) -> tuple[FeatureClassifier, dict[str, Any]]:
    """The stored classifier of `dataset` in folder, trained and stored first if absent (or of other settings)."""
    path = Path(folder).expanduser() / f"{_file_stem(dataset)}.pt"
    want = {"dataset": dataset, "input_dim": int(train[0].shape[1]), "num_classes": num_classes,
            "hidden": list(HIDDEN), "epochs": epochs, "seed": seed}
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if {k: state["meta"].get(k) for k in want} == want:
            clf = FeatureClassifier(want["input_dim"], num_classes)
            clf.load_state_dict(state["model"])
            return clf.eval(), state["meta"]
    clf = train_classifier(*train, num_classes, epochs, seed)
    meta = {**want, "test_accuracy": accuracy(clf, *test), "path": str(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": clf.state_dict(), "meta": meta}, tmp)
    os.replace(tmp, path)
    return clf, meta
