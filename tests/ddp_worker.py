"""A near-deterministic training job for the data-parallel tests (importable by spawned processes)."""

from pathlib import Path

import torch

from vaelab.models import MODELS, HierarchyParams
from vaelab.train import TrainData, TrainSettings, fit


def tiny_model() -> torch.nn.Module:
    """A VAE whose posterior variances are ~1e-13: its samples are the means, so noise cannot differ."""
    torch.manual_seed(0)
    model = MODELS["vae"](12, HierarchyParams(latent=(3,), hidden=(10,), batch_norm=False, var_floor=0.0))
    with torch.no_grad():
        model.heads[0].var.weight.zero_()
        model.heads[0].var.bias.fill_(-30.0)
    return model


def job(run_dir: str) -> None:
    g = torch.Generator().manual_seed(1)
    data = TrainData(torch.rand(96, 12, generator=g).bernoulli(generator=g), torch.zeros(0, 12), binarize=False)
    settings = TrainSettings(epochs=2, batch_size=32, progress=False, threads=1)
    fit(tiny_model(), data, settings, Path(run_dir))
