"""Batch-norm statistics for evaluation computed over the training data (DESIGN.md §4).

The running averages kept during training lag behind the weights; the original LVAE code recomputed the
statistics over the training set before every evaluation, and so does this.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vaelab.models.base import run_model

_BN = (nn.BatchNorm1d, nn.BatchNorm2d)


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, _BN) for m in model.modules())


@torch.no_grad()
def recompute_batchnorm(model: nn.Module, x_train: Tensor, batch_size: int = 500) -> None:
    """Set every batch-norm layer's running mean and variance to its average over x_train.

    x_train: (N, D), already binarised where the model expects binary data. Leaves the model in eval mode.
    """
    layers = [m for m in model.modules() if isinstance(m, _BN)]
    if not layers:
        model.eval()
        return
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches
    model.train()
    try:
        for xb in x_train.split(batch_size):
            if xb.shape[0] > 1:
                run_model(model, xb, n_samples=1)
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
