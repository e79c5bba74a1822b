"""Training hooks: small rules that act between optimiser steps and between epochs.

The loop calls every hook's after_step after each optimiser step that was taken (not after skipped ones) and
after_epoch once per epoch, after validation and before the checkpoint, merging what after_epoch returns into
the epoch's metrics record. A hook's state_dict (plain values) is saved in the checkpoint and restored on
resume, so a resumed run repeats an uninterrupted one. Hooks hold no reference to the loop.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from vaelab.objectives import Objective


class TrainingHook:
    """Base class: every method does nothing; a hook overrides the ones it needs."""

    def after_step(self, model: nn.Module, x: Tensor, obj: Objective) -> None:
        """x: the batch (B, D) the step was computed on; obj: its objective."""

    def after_epoch(self, model: nn.Module, epoch: int, record: dict[str, Any]) -> dict[str, Any]:
        """Return extra metrics for the epoch's record."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Plain values (numbers, strings, lists) that resume needs."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict returned."""
