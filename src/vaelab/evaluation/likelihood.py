"""Marginal-likelihood estimation by importance sampling: L_K (LVAE eq. 6; Kingma & Welling section 2.7).

Chunked over examples and over the K samples with a streaming log-mean-exp, so memory is bounded by
batch_size * sample_chunk rows whatever K is.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vaelab.distributions import StreamingLogMeanExp
from vaelab.execution import Execution, module_device
from vaelab.models.base import repeat_samples, run_model
from vaelab.objectives import log_weights


def chunk_log_weights(model: nn.Module, xb: Tensor, samples: int) -> Tensor:
    """(samples, B) log importance weights of `samples` draws for each example of xb (B, D)."""
    out = run_model(model, xb, n_samples=samples)
    return log_weights(out, repeat_samples(xb, samples)).view(samples, xb.shape[0])


@torch.inference_mode()
def log_likelihood(model: nn.Module, x: Tensor, k: int, batch_size: int = 20, sample_chunk: int = 250,
                   progress: bool = False, execution: Execution | None = None) -> Tensor:
    """L_K per example, shape (N,), in nats (float64, on the CPU). Puts the model in eval mode and restores it.

    x: (N, D). k: importance samples per example. L_1 is a one-sample ELBO estimate; L_K rises towards
    log p(x) as K grows. execution: compile/precision/checks (default: eager float32 without distribution
    checks); chunks run on the model's device. A chunk holds at most batch_size * sample_chunk rows (the memory
    bound); when k < sample_chunk, more examples share a chunk so that it stays that size.
    """
    if k < 1:
        raise ValueError(f"the number of importance samples must be >= 1, got {k}")
    ex = execution or Execution()
    device = module_device(model)
    weights = ex.objective(chunk_log_weights)
    was_training = model.training
    model.eval()
    results = []
    bar = tqdm(total=x.shape[0] * k, desc=f"L_{k}", unit="sample", unit_scale=True, disable=not progress)
    try:
        with ex.running():
            examples = max(batch_size, batch_size * sample_chunk // min(k, sample_chunk))  # rows <= the bound
            for xb in x.split(examples):
                xb, acc = xb.to(device), StreamingLogMeanExp()
                for start in range(0, k, sample_chunk):
                    s = min(sample_chunk, k - start)
                    acc.update(weights(model, xb, s).float())  # (s, B)
                    bar.update(s * xb.shape[0])
                results.append(acc.result().cpu())
    finally:
        bar.close()
        model.train(was_training)
    return torch.cat(results)
