"""The training loop, top to bottom: fit() trains a model on tensors and keeps the run folder resumable.

Each epoch: warm-up weight and learning rate from the epoch number (stateless, so resume needs nothing
more), a fresh permutation and binarisation drawn from a dedicated generator, steps that skip any
non-finite loss or gradient, a validation ELBO, one metrics record, then an atomic checkpoint holding
model, optimiser and random-number states. A resumed run repeats the uninterrupted one exactly, also from a
checkpoint written inside an epoch (train/resume.py): on SIGINT or SIGTERM after the current step
(train/stop.py), and every train.checkpoint_every_steps steps. fit() holds the run folder's lock
(train/runlock.py) while it writes there.
"""

from __future__ import annotations

import dataclasses
import math
import os
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, TypeVar

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vaelab.data import add_uniform_noise, binarize_dynamic, dequantize_dynamic
from vaelab.execution import Execution, module_device
from vaelab.objectives import Objective, elbo, linear_warmup
from vaelab.files import DiskFullError
from vaelab.train.distributed import (Group, all_gather, all_true, average_record, barrier, current_group, gather_rng,
                                      shard)
from vaelab.train.checkpoint import clean_stale_temporaries, previous_path, save_atomic
from vaelab.train.decoder_variance_hooks import decoder_variance_hooks
from vaelab.train.errors import TrainingError
from vaelab.train.freeze import freeze
from vaelab.train.hooks import TrainingHook
from vaelab.train.metrics import METRICS_FILE, MetricsLog
from vaelab.train.resume import EpochCursor, Start, begin, checkpoint_state
from vaelab.train.runlock import RunLock
from vaelab.train.settings import TrainSettings
from vaelab.train.stop import StopSignals, TrainingStopped, resume_command, signal_name

LAST, BEST = "checkpoint.pt", "best.pt"
TRAINER_FILES = (LAST, BEST, previous_path(LAST).name, previous_path(BEST).name, METRICS_FILE)
T = TypeVar("T")


class Task(Protocol):
    """What fit() trains on: the epoch, the validation and the score that chooses best.pt.

    TrainData (below) is the unsupervised task; train/semisupervised.py holds the semi-supervised one.
    """

    def steps_per_epoch(self, s: TrainSettings) -> int: ...

    def train_epoch(self, model: nn.Module, opt: torch.optim.Optimizer, s: TrainSettings, beta: float,
                    gen: torch.Generator, bar: tqdm, guard: StepGuard, hooks: Sequence[TrainingHook],
                    cursor: EpochCursor | None = None) -> dict[str, Any]:
        """One epoch; draws all its randomness from gen (up front, then per step) and follows `cursor`."""
        ...

    def validate(self, model: nn.Module) -> dict[str, Any]: ...

    def score(self, record: dict[str, Any]) -> float: ...


class StepGuard:
    """One optimiser step that a non-finite loss or gradient never reaches; counts bad steps in a row."""

    def __init__(self, s: TrainSettings, group: Group = Group(), execution: Execution | None = None) -> None:
        self.s = s
        self.group = group  # with several processes, all skip a step together or none does
        self.execution = execution or Execution()  # device of the batches, compiled objectives
        self.bad_run = 0  # consecutive skipped steps, across epochs

    def step(self, model: nn.Module, opt: torch.optim.Optimizer, loss: Tensor | None) -> float | None:
        """Backward, clip, step; return the gradient norm, or None when the step was skipped.

        loss None stands for an objective that could not be computed (see guarded()).
        """
        params = [p for p in model.parameters() if p.requires_grad]
        opt.zero_grad(set_to_none=True)
        ok = all_true(loss is not None and bool(torch.isfinite(loss)), self.group)
        if ok:
            loss.backward()
            if self.s.weight_prior > 0:
                add_weight_prior(params, self.s.weight_prior)
            grads = [p.grad for p in params if p.grad is not None]
            norm = torch.nn.utils.get_total_norm(grads)  # checked for finiteness whether or not it clips
            if self.s.grad_clip > 0:
                torch.nn.utils.clip_grads_with_norm_(params, self.s.grad_clip, norm)
            if self.s.grad_clip_value > 0:  # element-wise, after the norm (ADGM code, adgmssl.py:274-276)
                torch.nn.utils.clip_grad_value_(params, self.s.grad_clip_value)
            ok = bool(torch.isfinite(norm))
        if not ok:
            self.bad_run += 1
            if self.bad_run >= self.s.max_bad_steps:
                raise TrainingError(
                    f"{self.bad_run} consecutive steps gave a non-finite loss or gradient; lower train.lr, "
                    "set train.grad_clip, or raise model.var_floor"
                )
            return None
        self.bad_run = 0
        opt.step()
        return float(norm)


def add_weight_prior(params: Sequence[nn.Parameter], coefficient: float) -> None:
    """grad += coefficient * W for every weight matrix (ndim >= 2; biases and norm scales are left alone).

    The gradient of coefficient/2 sum W^2 added to the loss: a N(0, 1/(coefficient n)) prior on the weights,
    coupled with the loss (it is clipped and scaled by Adam with it, unlike AdamW's decoupled decay). The ADGM
    authors' code adds grad log N(W; 0, 1) / n to the per-step gradient, n = 120000 (adgmssl.py:236-265).
    """
    with torch.no_grad():
        for p in params:
            if p.ndim < 2:
                continue
            if p.grad is None:  # a weight the loss did not reach still feels the prior
                p.grad = coefficient * p.detach().clone()
            else:
                p.grad.add_(p.detach(), alpha=coefficient)


@dataclass
class TrainData:
    """The unsupervised task: the ELBO (or L_K) on every training example once per epoch."""

    train: Tensor  # (N, D): grey levels when binarize, else the values themselves
    val: Tensor  # (M, D): ready to use (binarised once when binarize)
    binarize: bool
    dequantize_levels: int = 0  # grey levels of the stored data: fresh uniform noise every epoch (0: off)
    noise_width: Tensor | None = None  # (D,) SVHN / NORB: fresh U[0,1) * noise_width every epoch (None: off)

    def steps_per_epoch(self, s: TrainSettings) -> int:
        return -(-self.train.shape[0] // s.batch_size)

    def train_epoch(self, model: nn.Module, opt: torch.optim.Optimizer, s: TrainSettings, beta: float,
                    gen: torch.Generator, bar: tqdm, guard: StepGuard, hooks: Sequence[TrainingHook] = (),
                    cursor: EpochCursor | None = None) -> dict[str, Any]:
        x = binarize_dynamic(self.train, gen) if self.binarize else self.train
        if self.dequantize_levels:
            x = dequantize_dynamic(x, self.dequantize_levels, gen)
        if self.noise_width is not None:
            x = add_uniform_noise(x, self.noise_width, gen)
        return train_epoch(model, opt, x, s, beta, gen, bar, guard, hooks, cursor).summary()

    def validate(self, model: nn.Module) -> dict[str, Any]:
        return validate(model, self.val.to(module_device(model)), 500)

    def score(self, record: dict[str, Any]) -> float:
        return record.get("val_elbo", record["train_elbo"])


@dataclass
class EpochStats:
    """Running sums over one epoch's steps."""

    n: int = 0
    bound: float = 0.0
    reconstruction: float = 0.0
    kl: dict[str, float] = field(default_factory=dict)
    kl_unit: dict[str, Tensor] = field(default_factory=dict)  # name -> (D,) sums over examples
    grad_norm: float = 0.0
    steps: int = 0
    skipped: int = 0

    def add(self, obj: Objective, grad_norm: float) -> None:
        b = obj.bound.shape[0]
        self.n += b
        self.steps += 1
        self.bound += float(obj.bound.sum())
        self.reconstruction += float(obj.reconstruction.sum())
        for k, v in obj.kl_per_layer.items():
            self.kl[k] = self.kl.get(k, 0.0) + float(v.sum())
        for k, v in obj.kl_per_unit.items():  # v is the batch mean, (D,)
            before = self.kl_unit.get(k)  # from a checkpoint it lies on the CPU
            self.kl_unit[k] = v * b if before is None else before.to(v.device) + v * b
        self.grad_norm += grad_norm

    def summary(self) -> dict[str, Any]:
        n = max(self.n, 1)
        return {
            "train_elbo": self.bound / n,
            "train_reconstruction": self.reconstruction / n,
            "train_kl_per_layer": {k: v / n for k, v in self.kl.items()},
            "train_kl_per_unit": {k: (v / n).tolist() for k, v in self.kl_unit.items()},
            "grad_norm": self.grad_norm / max(self.steps, 1),
            "skipped_steps": self.skipped,
        }


def learning_rate(s: TrainSettings, epoch: int) -> float:
    """lr * decay^floor((epoch-1)/every): the paper's fine-tuning schedule (x0.75 every 200 epochs)."""
    if s.lr_decay_every == 0:
        return s.lr
    return s.lr * s.lr_decay ** ((epoch - 1) // s.lr_decay_every)


@torch.no_grad()
def validate(model: nn.Module, val: Tensor, batch_size: int) -> dict[str, Any]:
    """Validation ELBO, reconstruction term, KL per layer and per unit (eval-mode batch-norm)."""
    if val.shape[0] == 0:
        return {}
    was_training = model.training
    model.eval()
    total, reconstruction, kl, unit = 0.0, 0.0, {}, {}
    for xb in val.split(batch_size):
        obj = elbo(model, xb)
        total += float(obj.bound.sum())
        reconstruction += float(obj.reconstruction.sum())
        for k, v in obj.kl_per_layer.items():
            kl[k] = kl.get(k, 0.0) + float(v.sum())
        for k, v in obj.kl_per_unit.items():
            unit[k] = unit.get(k, 0) + v * xb.shape[0]
    model.train(was_training)
    n = val.shape[0]
    return {
        "val_elbo": total / n,
        "val_reconstruction": reconstruction / n,
        "val_kl_per_layer": {k: v / n for k, v in kl.items()},
        "val_kl_per_unit": {k: (v / n).tolist() for k, v in unit.items()},
    }


def guarded(objective: Callable[[], T]) -> T | None:
    """The training objective, or None where the network produced non-finite distribution parameters.

    torch.distributions rejects NaN/inf parameters when it validates them; that is a non-finite step too.
    """
    try:
        return objective()
    except ValueError as err:
        if "found invalid values" in str(err):
            return None
        raise


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, s: TrainSettings, beta: float,
                gen: torch.Generator, bar: tqdm, guard: StepGuard, hooks: Sequence[TrainingHook] = (),
                cursor: EpochCursor | None = None) -> EpochStats:
    """One pass over x in a random order (from the cursor's step on when resuming inside the epoch)."""
    cursor = cursor or EpochCursor()
    perm = torch.randperm(x.shape[0], generator=gen)
    stats = cursor.start(EpochStats, gen)
    objective = guard.execution.objective(elbo)  # eager, or compiled once per process
    for i, idx in cursor.remaining(perm.split(s.batch_size)):
        bar.update(1)
        if idx.shape[0] >= 2 * guard.group.world:  # batch-norm needs two examples; the rest is seen next epoch
            _elbo_step(model, opt, x, idx, s, beta, guard, hooks, objective, stats)
        if cursor.after(i, stats):
            break
    return stats


def _elbo_step(model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, idx: Tensor, s: TrainSettings, beta: float,
               guard: StepGuard, hooks: Sequence[TrainingHook], objective: Callable[..., Objective],
               stats: EpochStats) -> None:
    """One optimiser step on the examples idx of x (this process's shard of them)."""
    idx = shard(idx, guard.group)  # this process's part of the global batch
    xb = guard.execution.to(x[idx])
    obj = guarded(lambda: objective(model, xb, beta=beta, eq_samples=s.eq_samples, iw_samples=s.iw_samples))
    norm = guard.step(model, opt, None if obj is None else obj.loss)
    if norm is None:  # a non-finite loss or gradient never reaches the weights
        stats.skipped += 1
        return
    for hook in hooks:
        hook.after_step(model, xb, obj)
    stats.add(obj, norm)


def _prepare_process(s: TrainSettings, group: Group, run_dir: Path) -> None:
    """Rank 0 creates run_dir (and clears temporaries of a killed save); every process sets its threads."""
    if group.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(run_dir, TRAINER_FILES)
    if s.threads:
        torch.set_num_threads(s.threads)
    elif group.world > 1:  # share the cores between the processes
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // group.world))


def fit(model: nn.Module, data: Task, s: TrainSettings, run_dir: str | Path, resume: bool | dict[str, Any] = False,
        metadata: dict[str, Any] | None = None, hooks: Sequence[TrainingHook] | None = None,
        hold_lock: bool = True) -> list[dict[str, Any]]:
    """Train for s.epochs epochs (continuing from run_dir's checkpoint when resume), return this call's records.

    data: the task (TrainData for the unsupervised families, SemiSupervisedData for the labelled ones).
    resume: True continues from run_dir's checkpoint.pt; a loaded checkpoint state continues from that one.
    hooks: rules run after each step and each epoch (train/hooks.py); None gives the ones the model's
    decoders need (closed-form variance, two-stage switch).
    hold_lock: take run_dir's lock for the call (False: the caller holds it, e.g. a launcher).
    Inside a process group (train/distributed.py) every process calls fit; rank 0 alone writes run_dir.
    On SIGINT/SIGTERM the current step finishes, a checkpoint records the place, and TrainingStopped is raised.
    """
    hooks = decoder_variance_hooks(model, s) if hooks is None else list(hooks)
    group, run_dir = current_group(), Path(run_dir)
    with RunLock(run_dir, group) if hold_lock else nullcontext(), StopSignals() as stop:
        run = _Run.prepare(model, data, s, run_dir, resume, metadata, hooks, group, stop)
        try:
            return run.epochs()
        except DiskFullError as err:
            raise TrainingError(f"{err}, then resume with: {resume_command(run_dir, group.world)}") from None


@dataclass
class _Run:
    """One call of fit(): what its epochs and its saves share."""

    model: nn.Module
    net: nn.Module  # the model, wrapped to average gradients in a process group
    data: Task
    s: TrainSettings
    run_dir: Path
    metadata: dict[str, Any] | None
    hooks: list[TrainingHook]
    group: Group
    ex: Execution
    opt: torch.optim.Optimizer
    gen: torch.Generator
    guard: StepGuard
    stop: StopSignals
    start: Start
    log: MetricsLog | None
    bar: tqdm
    written: set[str] = field(default_factory=set)  # checkpoints this call has written

    @classmethod
    def prepare(cls, model: nn.Module, data: Task, s: TrainSettings, run_dir: Path, resume: bool | dict[str, Any],
                metadata: dict[str, Any] | None, hooks: list[TrainingHook], group: Group, stop: StopSignals) -> "_Run":
        _prepare_process(s, group, run_dir)
        ex = Execution.from_settings(s).on_rank(group.rank, group.world)
        model.to(ex.device)
        freeze(model, s.freeze)  # before DDP, which hooks the parameters that train
        net = nn.parallel.DistributedDataParallel(model) if group.world > 1 else model  # averages gradients
        trained = [p for p in model.parameters() if p.requires_grad]
        opt, gen, guard = ex.optimizer(trained, s.lr), torch.Generator(), StepGuard(s, group, ex)
        steps = data.steps_per_epoch(s)
        start = begin(run_dir / LAST, resume, s, model, opt, gen, group, hooks, steps)
        guard.bad_run = start.bad_run
        log = MetricsLog(run_dir, resume_epoch=start.epoch - 1) if group.main else None
        done = start.cursor.done if start.cursor else 0
        bar = tqdm(total=max((s.epochs - start.epoch + 1) * steps - done, 0), desc="train", unit="step",
                   disable=not (s.progress and group.main))
        return cls(model, net, data, s, run_dir, metadata, hooks, group, ex, opt, gen, guard, stop, start, log, bar)

    def epochs(self) -> list[dict[str, Any]]:
        records = []
        try:
            for epoch in range(self.start.epoch, self.s.epochs + 1):
                cursor, self.start.cursor = self.start.cursor or EpochCursor(), None
                records.append(self.epoch(epoch, cursor))
                if epoch < self.s.epochs and self.stop_agreed():
                    raise self.stopped(epoch, None)
        finally:
            self.bar.close()
            if self.log is not None:
                self.log.close()
        return records

    def epoch(self, epoch: int, cursor: EpochCursor) -> dict[str, Any]:
        """Train one epoch (from the cursor's step), validate, log, checkpoint; the epoch's record."""
        s, group = self.s, self.group
        beta, lr = linear_warmup(epoch, s.warmup_epochs), learning_rate(s, epoch)
        for group_ in self.opt.param_groups:
            group_["lr"] = lr
        self.model.train()
        epoch_rng = self.gen.get_state()  # replayed by a resume from inside this epoch
        cursor.after_step = lambda n, stats: self.after_step(epoch, n, stats, epoch_rng)
        with self.ex.running():
            summary = self.data.train_epoch(self.net, self.opt, s, beta, self.gen, self.bar, self.guard, self.hooks,
                                            cursor)
            if cursor.stopped_at is not None:
                raise self.stopped(epoch, cursor.stopped_at)
            summary = average_record(summary, group)
            validation = self.data.validate(self.model) if group.main else {}
        self.start.skipped_total += summary["skipped_steps"]
        record = {"epoch": epoch, "beta": beta, "lr": lr, **summary,
                  "skipped_steps_total": self.start.skipped_total, **validation}
        for hook in self.hooks:  # on every process: hooks may change the model (they read only training figures)
            record.update(hook.after_epoch(self.model, epoch, record))
        rngs = gather_rng(group)  # collective: every process takes part
        if group.main:
            score = self.data.score(record)  # best.pt holds the highest score (validation ELBO, or -error)
            improved, self.start.best = score > self.start.best, max(self.start.best, score)
            self.bar.set_postfix(epoch=epoch, elbo=f"{record['train_elbo']:.2f}",
                                 val=f"{record.get('val_elbo', math.nan):.2f}")
            self.log.write(record)
            state = self.state(epoch, rngs, self.gen.get_state())
            if improved:
                self.save(state, BEST)
            self.save(state, LAST)
        barrier(group)  # nobody runs ahead of the checkpoint
        return record

    def after_step(self, epoch: int, n: int, stats: Any, epoch_rng: Tensor) -> bool:
        """After the epoch's n-th step: save the place when a signal came or checkpoint_every_steps says so;
        True stops the epoch."""
        steps, every = self.data.steps_per_epoch(self.s), self.s.checkpoint_every_steps
        stop = self.stop_agreed()
        if stop or (every > 0 and n < steps and ((epoch - 1) * steps + n) % every == 0):
            self.save_place(epoch, n, steps, stats, epoch_rng)
        return stop

    def stop_agreed(self) -> bool:
        """Whether a signal asked any process to stop (collective in a process group: all stop together)."""
        return not all_true(not self.stop.requested, self.group)

    def save_place(self, epoch: int, n: int, steps: int, stats: Any, epoch_rng: Tensor) -> None:
        """checkpoint.pt after step n of `epoch`: the end of epoch - 1 plus the position inside this one."""
        ranks = all_gather({"stats": dataclasses.asdict(stats), "data_rng": self.gen.get_state()}, self.group)
        rngs = gather_rng(self.group)
        if self.group.main:
            state = self.state(epoch - 1, rngs, epoch_rng)
            state["in_epoch"] = {"epoch": epoch, "batches": n, "of": steps, "ranks": ranks}
            self.save(state, LAST)
        barrier(self.group)

    def save(self, state: dict[str, Any], name: str) -> None:
        """run_dir/name <- state; a file this call did not write becomes the previous version only if it verifies."""
        save_atomic(state, self.run_dir / name, check_previous=name not in self.written)
        self.written.add(name)

    def state(self, epoch: int, rngs: list[Tensor], data_rng: Tensor) -> dict[str, Any]:
        return checkpoint_state(epoch, self.model, self.opt, data_rng, rngs, self.start.skipped_total,
                                self.start.best, self.metadata, self.group, self.hooks, self.ex, self.guard.bad_run)

    def stopped(self, epoch: int, steps_taken: int | None) -> TrainingStopped:
        """The exception that ends fit() after a signal, with the command that resumes."""
        steps = self.data.steps_per_epoch(self.s)
        where = f"after epoch {epoch}" if steps_taken is None else f"after step {steps_taken} of {steps} of epoch {epoch}"
        return TrainingStopped(f"stopped by {signal_name(self.stop.received)} {where}; {self.run_dir / LAST} holds "
                               f"this place; resume with: {resume_command(self.run_dir, self.group.world)}",
                               self.stop.received)
