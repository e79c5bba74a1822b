"""Evaluation settings (the `eval:` section of a config)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalSettings:
    iw_samples: int = 5000  # K of L_K (LVAE paper: 5000)
    batch_size: int = 100  # examples per chunk
    sample_chunk: int = 250  # importance samples per chunk: memory ~ batch_size * sample_chunk rows
    bn_batch_size: int = 500  # batch for recomputing batch-norm statistics over the training data
    active_threshold: float = 0.01  # a unit is active when Cov_x E_q[u] exceeds this (LVAE section 4)
    classify_samples: int = 10  # semi-supervised: samples of a over which q(y|a,x) is averaged

    def __post_init__(self) -> None:
        for name in ("iw_samples", "batch_size", "sample_chunk", "bn_batch_size", "classify_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval.{name} must be >= 1, got {getattr(self, name)}")
        if self.active_threshold < 0:
            raise ValueError(f"eval.active_threshold must be >= 0, got {self.active_threshold}")
