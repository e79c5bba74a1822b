"""log (1/K) sum_k exp(a_k), in one piece or streamed over chunks of K (memory independent of K)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def log_mean_exp(a: Tensor, dim: int = 0) -> Tensor:
    """log mean exp over `dim`, stable (LVAE eq. 6)."""
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])


class StreamingLogMeanExp:
    """Accumulates log mean exp over chunks along dim 0, e.g. chunks of importance samples (k, B).

    Holds only a running maximum-shifted sum per example, so memory does not grow with K.
    """

    def __init__(self) -> None:
        self._lse: Tensor | None = None  # (B,) running logsumexp
        self._count = 0

    def update(self, chunk: Tensor) -> None:
        """Add a chunk of log weights of shape (k, B), in float64 for accuracy over many chunks."""
        chunk_lse = torch.logsumexp(chunk.double(), dim=0)
        self._lse = chunk_lse if self._lse is None else torch.logaddexp(self._lse, chunk_lse)
        self._count += chunk.shape[0]

    def result(self) -> Tensor:
        """log (1/K) sum_k exp(a_k), shape (B,)."""
        if self._lse is None:
            raise ValueError("StreamingLogMeanExp.result() called before any update(); add a chunk first")
        return self._lse - math.log(self._count)
