"""A near-deterministic training job for the data-parallel tests (importable by spawned processes)."""

import os
import signal
from pathlib import Path

import torch

from vaelab.models import MODELS, HierarchyParams
from vaelab.train import TrainData, TrainSettings, fit
from vaelab.train.distributed import current_group
from vaelab.train.hooks import TrainingHook

SETTINGS = TrainSettings(epochs=2, batch_size=32, progress=False, threads=1)  # 3 steps an epoch
LONG = TrainSettings(epochs=20, batch_size=32, progress=False, threads=1)  # time for a signal to arrive


def tiny_model() -> torch.nn.Module:
    """A VAE whose posterior variances are ~1e-13: its samples are the means, so noise cannot differ."""
    torch.manual_seed(0)
    model = MODELS["vae"](12, HierarchyParams(latent=(3,), hidden=(10,), batch_norm=False, var_floor=0.0))
    with torch.no_grad():
        model.heads[0].var.weight.zero_()
        model.heads[0].var.bias.fill_(-30.0)
    return model


def _data() -> TrainData:
    g = torch.Generator().manual_seed(1)
    return TrainData(torch.rand(96, 12, generator=g).bernoulli(generator=g), torch.zeros(0, 12), binarize=False)


def job(run_dir: str) -> None:
    fit(tiny_model(), _data(), SETTINGS, Path(run_dir))


class SignalLauncher(TrainingHook):
    """On rank 0, sends the launcher (the parent process) SIGTERM as step `at` ends, as a user would."""

    def __init__(self, at: int) -> None:
        self.at, self.steps = at, 0

    def after_step(self, model, x, obj) -> None:
        self.steps += 1
        if self.steps == self.at and current_group().main:
            os.kill(os.getppid(), signal.SIGTERM)


def long_job(run_dir: str) -> None:
    fit(tiny_model(), _data(), LONG, Path(run_dir))


def stopped_job(run_dir: str) -> None:
    """long_job, with a SIGTERM to the launcher after the first step of epoch 2."""
    fit(tiny_model(), _data(), LONG, Path(run_dir), hooks=[SignalLauncher(4)])


def resumed_job(run_dir: str) -> None:
    fit(tiny_model(), _data(), LONG, Path(run_dir), resume=True)
