"""The training-time rules of the learned-variance decoders (Balancing-ELBO eq. 10 and Algorithm 1).

ClosedFormVariance: after every optimiser step, each closed-form head's sigma^2 is set to the batch's mean
squared reconstruction error (eq. 10), alternating with the gradient steps of the networks.
TwoStageSwitch: after every epoch of stage one, a plateau test on the training ELBO decides whether the
input-dependent head takes over (Algorithm 1); it records the epoch of the switch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from vaelab.layers.decoder_variance import GaussianClosedFormVariance, GaussianDecoder, GaussianInputVariance
from vaelab.objectives import Objective
from vaelab.train.hooks import TrainingHook
from vaelab.train.settings import TrainSettings


@dataclass
class PlateauTest:
    """Stage one has converged when the epoch's training ELBO has not risen by more than `tolerance` x |best|
    over the best so far for `patience` consecutive epochs, or when stage one has lasted `max_epochs`
    epochs (0: no cap)."""

    patience: int
    tolerance: float
    max_epochs: int = 0
    best: float = -math.inf
    stalled: int = 0
    epochs: int = 0

    def update(self, elbo: float) -> bool:
        """Add one epoch's ELBO; True when the test passes."""
        self.epochs += 1
        improved = math.isfinite(self.best) and elbo > self.best + self.tolerance * abs(self.best)
        self.stalled = 0 if improved or not math.isfinite(self.best) else self.stalled + 1
        self.best = max(self.best, elbo)
        return self.stalled >= self.patience or 0 < self.max_epochs <= self.epochs


def decoder_heads(model: nn.Module, kind: type = GaussianDecoder) -> list[nn.Module]:
    """Every module of `model` that is an instance of `kind`."""
    return [m for m in model.modules() if isinstance(m, kind)]


class ClosedFormVariance(TrainingHook):
    """sigma^2 <- the batch's mean squared error after each step, for heads whose closed_form_active is True.

    sigma^2 lives in the head's buffer, hence in the model's state dict: the hook itself has no state.
    """

    def __init__(self, heads: list[GaussianClosedFormVariance]) -> None:
        self.heads = heads

    def after_step(self, model: nn.Module, x: Tensor, obj: Objective) -> None:
        for head in self.heads:
            if head.closed_form_active:
                head.set_from_reconstruction(obj.reconstruction, x.shape[1])


class TwoStageSwitch(TrainingHook):
    """Algorithm 1: switch every GaussianInputVariance head to stage two when the plateau test passes."""

    def __init__(self, heads: list[GaussianInputVariance], test: PlateauTest) -> None:
        self.heads, self.test = heads, test
        self.switch_epoch = 0  # 0: not yet

    def after_epoch(self, model: nn.Module, epoch: int, record: dict[str, Any]) -> dict[str, Any]:
        waiting = [head for head in self.heads if head.closed_form_active]  # none if started from a stage-two run
        if self.switch_epoch == 0 and waiting and self.test.update(record["train_elbo"]):
            for head in waiting:
                head.start_stage_two()
            self.switch_epoch = epoch
        return {"stage_switch_epoch": self.switch_epoch}

    def state_dict(self) -> dict[str, Any]:
        t = self.test
        return {"best": t.best, "stalled": t.stalled, "epochs": t.epochs, "switch_epoch": self.switch_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.test.best, self.test.stalled, self.test.epochs = state["best"], state["stalled"], state["epochs"]
        self.switch_epoch = state["switch_epoch"]


class DecoderVarianceMetrics(TrainingHook):
    """Adds each Gaussian decoder's sigma^2 (or, in stage two, its floor and stage) to the epoch record."""

    def __init__(self, heads: list[GaussianDecoder]) -> None:
        self.heads = heads

    def after_epoch(self, model: nn.Module, epoch: int, record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for head in self.heads:
            out.update(head.summary())
        return out


def decoder_variance_hooks(model: nn.Module, s: TrainSettings) -> list[TrainingHook]:
    """The hooks the model's Gaussian decoders need (none for a model without them)."""
    hooks: list[TrainingHook] = []
    closed = decoder_heads(model, GaussianClosedFormVariance)
    if closed:
        hooks.append(ClosedFormVariance(closed))
    two_stage = decoder_heads(model, GaussianInputVariance)
    if two_stage:
        test = PlateauTest(s.variance_switch_patience, s.variance_switch_tolerance, s.variance_switch_max_epochs)
        hooks.append(TwoStageSwitch(two_stage, test))
    if decoder_heads(model):
        hooks.append(DecoderVarianceMetrics(decoder_heads(model)))
    return hooks
