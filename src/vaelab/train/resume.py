"""What a checkpoint holds for resume, and where a resumed run starts, also from the middle of an epoch.

A checkpoint written at the end of epoch E holds E, the model, the optimiser, every random-number state
and the counters. One written inside epoch E+1, after its step k (a graceful stop or
train.checkpoint_every_steps), holds the same for the end of epoch E, with the data generator's state at the
start of epoch E+1, plus `in_epoch`: E+1, k, the steps of an epoch and, for every process, the running sums
of the epoch's first k steps and the data generator's state after step k. Resuming replays the epoch's own
draws from the data generator (binarisation, permutations), skips the k steps already taken, and puts the
generator where step k left it: the run goes on exactly as if it had never stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import torch
from torch import Tensor, nn

from vaelab.execution import Execution
from vaelab.train.checkpoint import CheckpointError, load_checkpoint
from vaelab.train.distributed import Group
from vaelab.train.errors import TrainingError
from vaelab.train.hooks import TrainingHook
from vaelab.train.settings import TrainSettings

T = TypeVar("T")
S = TypeVar("S")


@dataclass
class EpochCursor:
    """Where an epoch starts and what runs after each of its steps (a task's train_epoch follows it).

    done: steps of this epoch already taken before the checkpoint it resumes from (0: a fresh epoch);
    stats: their running sums (the task's stats dataclass as a dict); data_rng: the data generator's state
    after step `done`; after_step(steps taken, stats) -> True stops the epoch (the loop has saved by then).
    """

    done: int = 0
    stats: dict[str, Any] | None = None
    data_rng: Tensor | None = None
    after_step: Callable[[int, Any], bool] | None = None
    stopped_at: int | None = None  # steps taken when after_step stopped the epoch

    def start(self, stats_type: Callable[..., S], gen: torch.Generator) -> S:
        """The running sums to go on with; call once the epoch's up-front draws from gen are made."""
        if self.data_rng is not None:
            gen.set_state(self.data_rng)
        return stats_type(**self.stats) if self.stats is not None else stats_type()

    def remaining(self, batches: Iterable[T]) -> Iterator[tuple[int, T]]:
        """(index, batch) of the batches not yet taken."""
        for i, batch in enumerate(batches):
            if i >= self.done:
                yield i, batch

    def after(self, i: int, stats: Any) -> bool:
        """Call after batch i (taken or skipped); True: stop the epoch now."""
        if self.after_step is not None and self.after_step(i + 1, stats):
            self.stopped_at = i + 1
        return self.stopped_at is not None


@dataclass
class Start:
    """Where fit() begins: the first epoch, the counters so far and, inside an epoch, its cursor."""

    epoch: int = 1
    skipped_total: int = 0
    best: float = -math.inf
    cursor: EpochCursor | None = None
    bad_run: int = 0


def checkpoint_state(epoch: int, model: nn.Module, opt: torch.optim.Optimizer, data_rng: Tensor,
                     rngs: list[Tensor], skipped_total: int, best: float, metadata: dict[str, Any] | None,
                     group: Group, hooks: Sequence[TrainingHook], ex: Execution, bad_run: int) -> dict[str, Any]:
    """Everything a resumed run needs to repeat the uninterrupted one after epoch `epoch` (rank 0 writes it)."""
    state = {"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(),
             "rng": rngs[0], "data_rng": data_rng, "skipped_steps": skipped_total,
             "best_val_elbo": best, "metadata": metadata or {}, "world": group.world,
             "rng_per_rank": rngs, "hooks": [hook.state_dict() for hook in hooks], "bad_steps": bad_run}
    if ex.device.type == "cuda":  # the latent noise of a GPU run comes from its own generator
        state["cuda_rng"] = torch.cuda.get_rng_state(ex.device)
    return state


def begin(path: Path, resume: bool | dict[str, Any], s: TrainSettings, model: nn.Module,
          opt: torch.optim.Optimizer, gen: torch.Generator, group: Group, hooks: Sequence[TrainingHook],
          steps_per_epoch: int) -> Start:
    """A fresh seeded start, or the place of the checkpoint (`resume`: True to read `path`, or its state)."""
    if resume is False:
        torch.manual_seed(s.seed + group.rank)  # each process its own latent noise
        gen.manual_seed(s.seed)  # the same permutation and binarisation on every process
        return Start()
    ck = load_checkpoint(path) if resume is True else resume
    world = ck.get("world", 1)
    if type(world) is not int or world < 1:
        raise CheckpointError(f"checkpoint {path} records {world!r:.40} processes; it was not written by vaelab train")
    if world != group.world:
        raise TrainingError(f"this run was trained with {world} processes; resume it with --nproc {world} "
                            f"(now {group.world})")
    try:
        return _restore(ck, model, opt, gen, group, hooks, steps_per_epoch)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:  # any wrong field
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"checkpoint {path} cannot resume this run ({first}); it was not written by "
                              "vaelab train for this model") from None


def _restore(ck: dict[str, Any], model: nn.Module, opt: torch.optim.Optimizer, gen: torch.Generator, group: Group,
             hooks: Sequence[TrainingHook], steps_per_epoch: int) -> Start:
    """Model, optimiser, random-number and hook states of a checkpoint for this process's rank."""
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["rng_per_rank"][group.rank] if group.world > 1 else ck["rng"])
    if "cuda_rng" in ck and torch.cuda.is_available():
        torch.cuda.set_rng_state(ck["cuda_rng"])
    gen.set_state(ck["data_rng"])
    for hook, hook_state in zip(hooks, ck.get("hooks", [])):
        hook.load_state_dict(hook_state)
    start = Start(ck["epoch"] + 1, int(ck["skipped_steps"]), float(ck["best_val_elbo"]), None,
                  int(ck.get("bad_steps", 0)))
    position = ck.get("in_epoch")
    if position is not None:
        if position["epoch"] != start.epoch or position["of"] != steps_per_epoch:
            raise ValueError(f"its position (epoch {position['epoch']}, {position['of']} steps an epoch) does not "
                             f"follow epoch {ck['epoch']} of {steps_per_epoch} steps")
        mine = position["ranks"][group.rank]
        start.cursor = EpochCursor(int(position["batches"]), dict(mine["stats"]), mine["data_rng"])
    return start
