"""The semi-supervised task for fit(): every batch half labelled, half unlabelled (ADGM section 3).

An epoch is one pass over the unlabelled examples in a random order (or, train.unlabelled_order: sorted, an
ablation, sorted by class in a fixed order); each batch adds `labelled_batch` labelled examples drawn from a
stream of random permutations of the labelled set (with 100 labels and 100 per batch, as on MNIST, every batch
holds all of them). Both sets are re-binarised every epoch when the run binarises (or, data.binarize_every: step,
both halves of every batch at every step), and get fresh uniform noise in every batch when the data set has a
noise width (SVHN, NORB). All randomness comes from fit()'s data generator, so a resumed run repeats the
uninterrupted one, also from
inside an epoch (the epoch's up-front draws are replayed, then the generator is put where the step left it).
The validation record holds the classification error (q(y|a,x) averaged over samples of a) and -U(x).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vaelab.data import LabelledSplit, add_uniform_noise, binarize_dynamic
from vaelab.execution import module_device
from vaelab.models.semisupervised import class_probabilities
from vaelab.objectives.semisupervised import (SemiSupervisedObjective, batch_weights, classification_weight,
                                              semi_supervised_objective, unlabelled_bound)
from vaelab.train.distributed import shard
from vaelab.train.hooks import TrainingHook
from vaelab.train.loop import StepGuard, guarded
from vaelab.train.resume import EpochCursor
from vaelab.train.settings import TrainSettings


@dataclass
class SemiSupervisedStats:
    """Running sums over one epoch's steps."""

    n_labelled: int = 0
    n_unlabelled: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("labelled", "unlabelled", "cross_entropy", "errors", "grad_norm"), 0.0))
    steps: int = 0
    skipped: int = 0

    def add(self, obj: SemiSupervisedObjective, y: Tensor, grad_norm: float) -> None:
        self.n_labelled += y.shape[0]
        self.n_unlabelled += obj.unlabelled.bound.shape[0]
        self.steps += 1
        self.sums["labelled"] += float(obj.labelled.bound.sum())
        self.sums["unlabelled"] += float(obj.unlabelled.bound.sum())
        self.sums["cross_entropy"] += float(obj.labelled.cross_entropy.detach().sum())
        self.sums["errors"] += float((obj.labelled.probs.argmax(1) != y).sum())
        self.sums["grad_norm"] += grad_norm

    def summary(self) -> dict[str, Any]:
        nl, nu = max(self.n_labelled, 1), max(self.n_unlabelled, 1)
        return {
            "train_elbo": self.sums["unlabelled"] / nu,  # -U(x) on the unlabelled examples
            "train_labelled_bound": self.sums["labelled"] / nl,  # -L(x, y)
            "train_cross_entropy": self.sums["cross_entropy"] / nl,
            "train_labelled_error": self.sums["errors"] / nl,
            "grad_norm": self.sums["grad_norm"] / max(self.steps, 1),
            "skipped_steps": self.skipped,
        }


@dataclass
class _Step:
    """What every step of one epoch shares."""

    model: nn.Module
    opt: torch.optim.Optimizer
    s: TrainSettings
    guard: StepGuard
    x_l: Tensor  # (N_l, D) this epoch's labelled inputs (binarised afresh when the run binarises)
    x_u: Tensor  # (N_u, D) this epoch's unlabelled inputs
    alpha: float
    beta: float
    weight: float
    objective: Any


@dataclass
class SemiSupervisedData:
    """The labelled and unlabelled training sets, the validation set, and the weights of eq. 12."""

    split: LabelledSplit
    val: Tensor  # (M, D) ready to use
    val_labels: Tensor  # (M,)
    binarize: bool
    beta: float  # the constant of alpha = beta (N_l + N_u) / N_l
    labelled_batch: int  # labelled examples per batch (0: half the batch)
    classify_samples: int = 10  # samples of a averaged for the validation error
    noise_width: Tensor | None = None  # (D,): U[0,1) * noise_width added afresh to every training batch
    binarize_every: str = "epoch"  # epoch | step: a fresh mask for both halves of every batch (data.binarize_every)
    val_classify: Tensor | None = None  # (M, D): the validation inputs of the error (eval.classify_inputs); None: val

    def _noisy(self, x: Tensor, gen: torch.Generator) -> Tensor:
        """x with fresh uniform dequantisation noise (SVHN, NORB), else x itself; per batch, to spare memory."""
        return x if self.noise_width is None else add_uniform_noise(x, self.noise_width, gen)

    @property
    def alpha(self) -> float:
        return classification_weight(self.beta, self.split.x_labelled.shape[0], self.split.n_without_labels)

    @property
    def per_step(self) -> bool:
        """Whether the training batches are binarised at every step (else once per epoch, or never)."""
        return self.binarize and self.binarize_every == "step"

    def batch_sizes(self, s: TrainSettings) -> tuple[int, int]:
        """(labelled, unlabelled) examples per batch."""
        labelled = self.labelled_batch or s.batch_size // 2
        return labelled, s.batch_size - labelled

    def steps_per_epoch(self, s: TrainSettings) -> int:
        return -(-self.split.x_unlabelled.shape[0] // self.batch_sizes(s)[1])

    def _labelled_stream(self, n: int, gen: torch.Generator) -> Tensor:
        """n indices of labelled examples: consecutive random permutations of the labelled set."""
        size = self.split.x_labelled.shape[0]
        perms = [torch.randperm(size, generator=gen) for _ in range(-(-n // size))]
        return torch.cat(perms)[:n] if perms else torch.zeros(0, dtype=torch.long)

    def _unlabelled_batches(self, s: TrainSettings, n_u: int, gen: torch.Generator) -> tuple[Tensor, ...]:
        """Index batches of the unlabelled set: a fresh permutation, or (`sorted`, an ablation) the set sorted by its
        true class, stably, in the same order every epoch, as the ADGM authors' code streams it (their
        data_preparation/mnist.py:164-186 lays the class-sorted set out in 600 fixed batches; training/train.py:34)."""
        if s.unlabelled_order == "sorted":
            if self.split.y_unlabelled is None:
                raise ValueError("train.unlabelled_order sorted needs the labels of the unlabelled set")
            return torch.argsort(self.split.y_unlabelled, stable=True).split(n_u)
        return torch.randperm(self.split.x_unlabelled.shape[0], generator=gen).split(n_u)

    def _rows(self, x: Tensor, idx: Tensor, gen: torch.Generator, guard: StepGuard) -> Tensor:
        """This process's rows of the global batch x[idx], on the device: binarised here when per step (the whole
        global batch, so that every process draws alike), with fresh noise where the data set has some."""
        if self.per_step:
            return guard.execution.to(self._noisy(shard(binarize_dynamic(x[idx], gen), guard.group), gen))
        return guard.execution.to(self._noisy(x[shard(idx, guard.group)], gen))

    def train_epoch(self, model: nn.Module, opt: torch.optim.Optimizer, s: TrainSettings, beta: float,
                    gen: torch.Generator, bar: tqdm, guard: StepGuard, hooks: Sequence[TrainingHook] = (),
                    cursor: EpochCursor | None = None) -> dict[str, Any]:
        """One pass over the unlabelled set, each batch completed with labelled examples (eq. 13).

        hooks (the decoder-variance rules of the unsupervised heads) do not apply to these families.
        """
        if hooks:
            raise ValueError("training hooks are for the unsupervised families; a semi-supervised run has none")
        cursor = cursor or EpochCursor()
        sp = self.split
        per_epoch = self.binarize and not self.per_step
        x_l = binarize_dynamic(sp.x_labelled, gen) if per_epoch else sp.x_labelled
        x_u = binarize_dynamic(sp.x_unlabelled, gen) if per_epoch else sp.x_unlabelled
        n_l, n_u = self.batch_sizes(s)
        batches = self._unlabelled_batches(s, n_u, gen)
        stream = self._labelled_stream(len(batches) * n_l, gen).view(len(batches), n_l)
        stats, alpha = cursor.start(SemiSupervisedStats, gen), self.alpha
        step = _Step(model, opt, s, guard, x_l, x_u, alpha, beta, batch_weights(s.batch_weighting, n_l, n_u),
                     guard.execution.objective(semi_supervised_objective))
        for i, (idx_u, idx_l) in cursor.remaining(zip(batches, stream)):
            bar.update(1)
            if idx_u.shape[0] >= 2 * guard.group.world:  # batch-norm needs two examples; the rest is seen next epoch
                self._step(step, idx_l, idx_u, gen, stats)
            if cursor.after(i, stats):
                break
        return {**stats.summary(), "alpha": alpha}

    def _step(self, step: "_Step", idx_l: Tensor, idx_u: Tensor, gen: torch.Generator,
              stats: SemiSupervisedStats) -> None:
        """One optimiser step on the labelled examples idx_l and the unlabelled idx_u (this process's shards)."""
        guard, s, to = step.guard, step.s, step.guard.execution.to
        y = to(self.split.y_labelled[shard(idx_l, guard.group)])  # this process's part
        xb_l, xb_u = self._rows(step.x_l, idx_l, gen, guard), self._rows(step.x_u, idx_u, gen, guard)
        obj = guarded(lambda: step.objective(step.model, xb_l, y, xb_u, alpha=step.alpha, beta=step.beta,
                                             samples=s.eq_samples, labelled_weight=step.weight,
                                             label_weights=s.label_weights))
        norm = guard.step(step.model, step.opt, None if obj is None else obj.loss)
        if norm is None:
            stats.skipped += 1
            return
        stats.add(obj, y, norm)

    @torch.no_grad()
    def validate(self, model: nn.Module) -> dict[str, Any]:
        """Validation error and -U(x), eval-mode batch-norm."""
        if self.val.shape[0] == 0:
            return {}
        val = self.val.to(module_device(model))
        val_classify = val if self.val_classify is None else self.val_classify.to(val.device)
        probs = class_probabilities(model, val_classify, self.classify_samples).cpu()
        was_training = model.training
        model.eval()
        try:
            bound = torch.cat([unlabelled_bound(model, xb).bound for xb in val.split(500)])
        finally:
            model.train(was_training)
        return {"val_error": float((probs.argmax(1) != self.val_labels).float().mean()),
                "val_elbo": float(bound.mean())}

    def score(self, record: dict[str, Any]) -> float:
        """best.pt: the lowest validation error (without validation data, the highest -U on training data)."""
        return -record["val_error"] if "val_error" in record else record["train_elbo"]
