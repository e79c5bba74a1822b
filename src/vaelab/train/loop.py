"""The training loop, top to bottom: fit() trains a model on tensors and keeps the run folder resumable.

Each epoch: warm-up weight and learning rate from the epoch number (stateless, so resume needs nothing
more), a fresh permutation and binarisation drawn from a dedicated generator, steps that skip any
non-finite loss or gradient, a validation ELBO, one metrics record, then an atomic checkpoint holding
model, optimiser and random-number states. A resumed run repeats the uninterrupted one exactly.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, TypeVar

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vaelab.data import add_uniform_noise, binarize_dynamic, dequantize_dynamic
from vaelab.execution import Execution, module_device
from vaelab.objectives import Objective, elbo, linear_warmup
from vaelab.train.distributed import Group, all_true, average_record, barrier, current_group, gather_rng, shard
from vaelab.train.checkpoint import clean_stale_temporaries, load_checkpoint, save_atomic
from vaelab.train.decoder_variance_hooks import decoder_variance_hooks
from vaelab.train.freeze import freeze
from vaelab.train.hooks import TrainingHook
from vaelab.train.metrics import MetricsLog
from vaelab.train.settings import TrainSettings

LAST, BEST = "checkpoint.pt", "best.pt"
T = TypeVar("T")


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss keeps being NaN); the message says what to change."""


class Task(Protocol):
    """What fit() trains on: the epoch, the validation and the score that chooses best.pt.

    TrainData (below) is the unsupervised task; train/semisupervised.py holds the semi-supervised one.
    """

    def steps_per_epoch(self, s: TrainSettings) -> int: ...

    def train_epoch(self, model: nn.Module, opt: torch.optim.Optimizer, s: TrainSettings, beta: float,
                    gen: torch.Generator, bar: tqdm, guard: StepGuard,
                    hooks: Sequence[TrainingHook]) -> dict[str, Any]: ...

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
                    gen: torch.Generator, bar: tqdm, guard: StepGuard,
                    hooks: Sequence[TrainingHook] = ()) -> dict[str, Any]:
        x = binarize_dynamic(self.train, gen) if self.binarize else self.train
        if self.dequantize_levels:
            x = dequantize_dynamic(x, self.dequantize_levels, gen)
        if self.noise_width is not None:
            x = add_uniform_noise(x, self.noise_width, gen)
        return train_epoch(model, opt, x, s, beta, gen, bar, guard, hooks).summary()

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
            self.kl_unit[k] = self.kl_unit.get(k, 0) + v * b
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
                gen: torch.Generator, bar: tqdm, guard: StepGuard, hooks: Sequence[TrainingHook] = ()) -> EpochStats:
    """One pass over x in a random order."""
    stats = EpochStats()
    perm = torch.randperm(x.shape[0], generator=gen)
    objective = guard.execution.objective(elbo)  # eager, or compiled once per process
    for idx in perm.split(s.batch_size):
        bar.update(1)
        if idx.shape[0] < 2 * guard.group.world:  # batch-norm needs two examples; the rest is seen next epoch
            continue
        idx = shard(idx, guard.group)  # this process's part of the global batch
        xb = guard.execution.to(x[idx])
        obj = guarded(lambda: objective(model, xb, beta=beta, eq_samples=s.eq_samples, iw_samples=s.iw_samples))
        norm = guard.step(model, opt, None if obj is None else obj.loss)
        if norm is None:  # a non-finite loss or gradient never reaches the weights
            stats.skipped += 1
            continue
        for hook in hooks:
            hook.after_step(model, xb, obj)
        stats.add(obj, norm)
    return stats


def _restore(ck: dict[str, Any], model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
             group: Group) -> None:
    """Model, optimiser and random-number states of a checkpoint, for this process's rank."""
    if ck.get("world", 1) != group.world:
        raise TrainingError(f"this run was trained with {ck.get('world', 1)} processes; resume it with "
                            f"--nproc {ck.get('world', 1)} (now {group.world})")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["rng_per_rank"][group.rank] if group.world > 1 else ck["rng"])
    if "cuda_rng" in ck and torch.cuda.is_available():
        torch.cuda.set_rng_state(ck["cuda_rng"])
    gen.set_state(ck["data_rng"])


def _prepare_process(s: TrainSettings, group: Group, run_dir: Path) -> None:
    """Rank 0 creates run_dir (and clears temporaries of a killed save); every process sets its threads."""
    if group.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        clean_stale_temporaries(run_dir)
    if s.threads:
        torch.set_num_threads(s.threads)
    elif group.world > 1:  # share the cores between the processes
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // group.world))


def _begin(run_dir: Path, resume: bool, s: TrainSettings, model: nn.Module, opt: torch.optim.Optimizer,
           gen: torch.Generator, group: Group, hooks: Sequence[TrainingHook]) -> tuple[int, int, float]:
    """(first epoch, skipped steps so far, best score so far): from the last checkpoint, or a fresh seeded start."""
    if not resume:
        torch.manual_seed(s.seed + group.rank)  # each process its own latent noise
        gen.manual_seed(s.seed)  # the same permutation and binarisation on every process
        return 1, 0, -math.inf
    ck = load_checkpoint(run_dir / LAST)  # the caller checked it holds this model (runs.check_checkpoint)
    _restore(ck, model, opt, gen, group)
    for hook, hook_state in zip(hooks, ck.get("hooks", [])):
        hook.load_state_dict(hook_state)
    return ck["epoch"] + 1, ck["skipped_steps"], ck["best_val_elbo"]


def _checkpoint(epoch: int, model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator,
                rngs: list[dict[str, Any]], skipped_total: int, best: float, metadata: dict[str, Any] | None,
                group: Group, hooks: Sequence[TrainingHook], ex: Execution) -> dict[str, Any]:
    """Everything a resumed run needs to repeat the uninterrupted one (written by rank 0 only)."""
    state = {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "rng": rngs[0], "data_rng": gen.get_state(), "skipped_steps": skipped_total,
             "best_val_elbo": best, "metadata": metadata or {}, "world": group.world,
             "rng_per_rank": rngs, "hooks": [hook.state_dict() for hook in hooks]}
    if ex.device.type == "cuda":  # the latent noise of a GPU run comes from its own generator
        state["cuda_rng"] = torch.cuda.get_rng_state(ex.device)
    return state


def fit(model: nn.Module, data: Task, s: TrainSettings, run_dir: str | Path, resume: bool = False,
        metadata: dict[str, Any] | None = None, hooks: Sequence[TrainingHook] | None = None) -> list[dict[str, Any]]:
    """Train for s.epochs epochs (continuing from run_dir's checkpoint when resume), return this call's records.

    data: the task (TrainData for the unsupervised families, SemiSupervisedData for the labelled ones).
    hooks: rules run after each step and each epoch (train/hooks.py); None gives the ones the model's
    decoders need (closed-form variance, two-stage switch).
    Inside a process group (train/distributed.py) every process calls fit; rank 0 alone writes run_dir.
    """
    hooks = decoder_variance_hooks(model, s) if hooks is None else list(hooks)
    group, run_dir = current_group(), Path(run_dir)
    _prepare_process(s, group, run_dir)
    ex = Execution.from_settings(s).on_rank(group.rank, group.world)
    model.to(ex.device)
    freeze(model, s.freeze)  # before DDP, which hooks the parameters that train
    net = nn.parallel.DistributedDataParallel(model) if group.world > 1 else model  # averages gradients
    opt, gen = ex.optimizer([p for p in model.parameters() if p.requires_grad], s.lr), torch.Generator()
    start, skipped_total, best = _begin(run_dir, resume, s, model, opt, gen, group, hooks)
    log = MetricsLog(run_dir, resume_epoch=start - 1) if group.main else None
    bar = tqdm(total=max(s.epochs - start + 1, 0) * data.steps_per_epoch(s), desc="train", unit="step",
               disable=not (s.progress and group.main))
    records, guard = [], StepGuard(s, group, ex)
    try:
        for epoch in range(start, s.epochs + 1):
            beta, lr = linear_warmup(epoch, s.warmup_epochs), learning_rate(s, epoch)
            for group_ in opt.param_groups:
                group_["lr"] = lr
            model.train()
            with ex.running():
                summary = average_record(data.train_epoch(net, opt, s, beta, gen, bar, guard, hooks), group)
                validation = data.validate(model) if group.main else {}
            skipped_total += summary["skipped_steps"]
            record = {"epoch": epoch, "beta": beta, "lr": lr, **summary, "skipped_steps_total": skipped_total,
                      **validation}
            for hook in hooks:  # on every process: hooks may change the model (they read only training figures)
                record.update(hook.after_epoch(model, epoch, record))
            rngs = gather_rng(group)  # collective: every process takes part
            if group.main:
                score = data.score(record)  # best.pt holds the highest score (validation ELBO, or -error)
                improved, best = score > best, max(best, score)
                bar.set_postfix(epoch=epoch, elbo=f"{record['train_elbo']:.2f}",
                                val=f"{record.get('val_elbo', math.nan):.2f}")
                log.write(record)
                state = _checkpoint(epoch, model, opt, gen, rngs, skipped_total, best, metadata, group, hooks, ex)
                if improved:
                    save_atomic(state, run_dir / BEST)
                save_atomic(state, run_dir / LAST)
            records.append(record)
            barrier(group)  # nobody runs ahead of the checkpoint
    finally:
        bar.close()
        if log is not None:
            log.close()
    return records
