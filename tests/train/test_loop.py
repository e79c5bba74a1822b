"""The loop's guards: non-finite steps are skipped and counted, and a run that keeps producing them stops."""

import math

import pytest
import torch

from vaelab.models import MODELS, HierarchyParams
from vaelab.train import TrainData, TrainingError, TrainSettings, fit, learning_rate, read_metrics


def _model():
    torch.manual_seed(0)
    return MODELS["vae"](10, HierarchyParams(latent=(2,), hidden=(8,), batch_norm=False))


class NaNOnce(torch.nn.Module):
    """Wraps a model and poisons its decoder output on the first `bad` calls."""

    def __init__(self, inner, bad):
        super().__init__()
        self.inner, self.bad = inner, bad

    def forward(self, x, n_samples=1):
        out = self.inner(x, n_samples)
        if self.training and self.bad > 0:
            self.bad -= 1
            out.latents[0].z = out.latents[0].z * math.nan
            out.px = self.inner.generative.decode(out.latents[0].z)
        return out


def test_non_finite_steps_are_skipped_and_counted(tmp_path):
    model = NaNOnce(_model(), bad=2)
    data = TrainData(torch.rand(64, 10), torch.rand(8, 10).bernoulli(), binarize=True)
    records = fit(model, data, TrainSettings(epochs=2, batch_size=16, progress=False), tmp_path)
    assert records[0]["skipped_steps"] == 2 and records[-1]["skipped_steps_total"] == 2
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert math.isfinite(records[-1]["val_elbo"])


def test_persistent_non_finite_loss_stops_with_a_message(tmp_path):
    model = NaNOnce(_model(), bad=10**6)
    data = TrainData(torch.rand(64, 10), torch.rand(8, 10).bernoulli(), binarize=True)
    with pytest.raises(TrainingError, match="consecutive steps gave a non-finite"):
        fit(model, data, TrainSettings(epochs=3, batch_size=16, max_bad_steps=5, progress=False), tmp_path)


def test_learning_rate_schedule_paper_finetuning():
    s = TrainSettings(lr=1e-3, lr_decay=0.75, lr_decay_every=200)
    assert learning_rate(s, 1) == 1e-3 and learning_rate(s, 200) == 1e-3
    assert math.isclose(learning_rate(s, 201), 0.75e-3) and math.isclose(learning_rate(s, 401), 0.75 ** 2 * 1e-3)


def test_metrics_and_tensorboard_written(tmp_path):
    data = TrainData(torch.rand(64, 10), torch.rand(8, 10).bernoulli(), binarize=True)
    fit(_model(), data, TrainSettings(epochs=2, batch_size=16, warmup_epochs=4, progress=False), tmp_path)
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["beta"] for r in records] == [0.25, 0.5]
    for key in ("train_elbo", "val_elbo", "train_kl_per_layer", "val_kl_per_unit", "lr", "grad_norm"):
        assert key in records[0]
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
