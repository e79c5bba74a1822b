"""metrics.jsonl records: train and validation ELBO, reconstruction and KL per layer and per unit agree."""

from __future__ import annotations

import math

import torch

from vaelab.models import VAE, HierarchyParams
from vaelab.train import TrainData, TrainSettings, fit, read_metrics


def test_records_hold_both_splits_and_their_terms_add_up(tmp_path):
    torch.manual_seed(0)
    x = torch.rand(96, 12)
    data = TrainData(train=x[:64], val=x[64:].bernoulli(), binarize=True)
    model = VAE(12, HierarchyParams(latent=(3, 2), hidden=(16, 8)))
    settings = TrainSettings(epochs=2, batch_size=32, warmup_epochs=2, progress=False)
    records = fit(model, data, settings, tmp_path)
    assert records == read_metrics(tmp_path / "metrics.jsonl")
    for r in records:
        for key in ("train_elbo", "val_elbo", "train_reconstruction", "val_reconstruction", "beta", "lr",
                    "grad_norm", "skipped_steps", "train_kl_per_layer", "val_kl_per_layer",
                    "train_kl_per_unit", "val_kl_per_unit"):
            assert key in r, key
        # L_1 = E_q log p(x|z) - sum_i KL_i, on each split (LVAE eqs. 4-5; analytic KL per layer)
        for split in ("train", "val"):
            kl = sum(r[f"{split}_kl_per_layer"].values())
            assert math.isclose(r[f"{split}_elbo"], r[f"{split}_reconstruction"] - kl, rel_tol=1e-5, abs_tol=1e-4)
            for name, units in r[f"{split}_kl_per_unit"].items():
                assert len(units) == {"z1": 3, "z2": 2}[name]
                assert math.isclose(sum(units), r[f"{split}_kl_per_layer"][name], rel_tol=1e-4, abs_tol=1e-5)
