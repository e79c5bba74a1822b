"""`vaelab classify`: labels for the inputs of a .npy file from a semi-supervised run's classifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from vaelab.data import DataError, binarize_fixed, select_inputs
from vaelab.models import takes_labels
from vaelab.models.semisupervised import class_probabilities
from vaelab.runs.building import CLASSIFY_SEED
from vaelab.runs.folder import RunError
from vaelab.runs.loading import load_run

def classify_run(run_dir: str | Path, file: str | Path, out: str | Path | None = None, checkpoint: str = "best",
                 samples: int | None = None, fallback: bool = False) -> dict[str, Any]:
    """`vaelab classify`: label the inputs of a .npy file with a semi-supervised run's q(y|a,x)."""
    run_dir, file = Path(run_dir), Path(file)
    config, model, splits, _ = load_run(run_dir, checkpoint, fallback=fallback)
    if not takes_labels(model):
        raise RunError(f"{run_dir} holds a {config.model.family} model, which has no classifier; use a run of "
                       f"m2, adgm or sdgm")
    try:
        array = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{file} cannot be read as a .npy array ({err}); save inputs with numpy.save") from None
    width = splits.input_mask.shape[0] if splits.input_mask is not None else splits.train.shape[1]
    x = select_inputs(array, splits.input_mask, width, str(file))
    if splits.binarize and config.eval.classify_inputs != "grey":  # as the test set: binarised once, fixed seed
        x = binarize_fixed(x, seed=CLASSIFY_SEED)
    probs = class_probabilities(model, x, samples or config.eval.classify_samples)
    labels = probs.argmax(1)
    out = Path(out) if out else file.with_name(file.stem + ".labels.npy")
    np.save(out, labels.numpy())
    probs_path = out.with_name(out.name.removesuffix(".npy").removesuffix(".labels") + ".probs.npy")
    np.save(probs_path, probs.numpy())
    return {"n": int(x.shape[0]), "labels": out, "probs": probs_path,
            "counts": torch.bincount(labels, minlength=probs.shape[1]).tolist(),
            "class_names": list(splits.class_names)}
