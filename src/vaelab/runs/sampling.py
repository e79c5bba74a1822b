"""`vaelab sample`: image grids of a run's samples and reconstructions, and of its uncertainty."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vaelab.data import Splits, restore_inputs
from vaelab.evaluation import analogies, samples_per_class, save_grid
from vaelab.generation import aggregate_posterior, generate, write_uncertainty
from vaelab.models import takes_labels
from vaelab.runs.building import TRAIN_EVAL_SEED, fixed_train
from vaelab.runs.folder import RunError
from vaelab.runs.loading import load_run

def _images(x: torch.Tensor, splits: Splits) -> np.ndarray:
    """(N, D) model inputs -> (N, H, W) grey images (dropped inputs restored as 0)."""
    if len(splits.image_shape) != 2:
        raise RunError(f"vaelab sample draws grey images; this data set's examples have shape {splits.image_shape}")
    return restore_inputs(x.detach(), splits.input_mask).reshape(-1, *splits.image_shape).cpu().numpy()


@torch.no_grad()
def _sample_labelled(model: nn.Module, splits: Splits, run_dir: Path, n: int, ncol: int) -> list[Path]:
    """ADGM Fig. 3: samples.png (one column per class, from noise), analogies.png (x, then every class)."""
    classes = model.params.classes
    grid = samples_per_class(model, max(1, n // classes))
    samples = save_grid(_images(grid, splits), run_dir / "samples.png", classes)
    rows = max(1, min(n // (classes + 1), splits.test.shape[0], 10))
    pairs = analogies(model, splits.test[:rows], splits.test_labels[:rows])
    return [samples, save_grid(_images(pairs, splits), run_dir / "analogies.png", classes + 1)]


@torch.no_grad()
def sample_run(run_dir: str | Path, n: int = 100, checkpoint: str = "best", seed: int = 0, source: str = "prior",
               uncertainty: bool = False, fallback: bool = False) -> list[Path]:
    """`vaelab sample`: PNG grids of n samples (means of p(x|z), top latent from the prior or the aggregate-
    posterior mixture) and of reconstructions; with uncertainty, the predicted sigma beside both."""
    if n < 1:
        raise RunError(f"--n must be >= 1, got {n}")
    run_dir = Path(run_dir)
    config, model, splits, state = load_run(run_dir, checkpoint, fallback=fallback)
    if takes_labels(model):  # ADGM Fig. 3: one column per class, and analogies
        if source != "prior" or uncertainty:
            raise RunError("a semi-supervised run samples from its prior only, without uncertainty maps")
        torch.manual_seed(seed)
        return _sample_labelled(model, splits, run_dir, n, int(np.ceil(np.sqrt(n))))
    agg = None
    if source == "aggregate":
        agg = aggregate_posterior(run_dir, config, model, fixed_train(splits, config, TRAIN_EVAL_SEED),
                                  checkpoint, state["epoch"], state.get("sha256"))
    torch.manual_seed(seed)
    ncol = int(np.ceil(np.sqrt(n)))
    suffix = "" if source == "prior" else f"-{source}"
    generated = generate(model, n, source, agg)
    samples = save_grid(_images(generated.mean, splits), run_dir / f"samples{suffix}.png", ncol)
    x = splits.test[: max(1, min(n, splits.test.shape[0]) // 2)]
    recon = model(x).px.mean
    pairs = torch.stack([x, recon], dim=1).reshape(-1, x.shape[1])  # input, reconstruction, input, ...
    ncol_pairs = 2 * max(1, ncol // 2)
    recons = save_grid(_images(pairs, splits), run_dir / "reconstructions.png", ncol_pairs)
    maps = write_uncertainty(run_dir, model, x, generated, splits.image_shape, ncol, suffix) if uncertainty else []
    return [samples, recons, *maps]
