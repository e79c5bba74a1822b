"""Data-parallel training with torch.distributed: gloo on CPU, NCCL on GPUs.

Every process holds the whole data set and draws the same permutation and binarisation from the same seed;
each global batch is cut into one contiguous shard per process, gradients are averaged by
DistributedDataParallel, so the global batch, warm-up and learning-rate schedule mean what they mean in one
process. The latent noise of each process comes from its own seed (seed + rank). Only rank 0 writes the run
folder; the checkpoint holds every rank's random-number state, so a resumed run repeats itself.
Batch-norm statistics are those of each process's shard.
The processes that launch() starts ignore the terminal's SIGINT; the launcher passes SIGINT and SIGTERM on
to them as SIGTERM, so that they stop together after a step (train/stop.py) and the launcher raises their
TrainingStopped.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor

from vaelab.train.stop import SIGNALS, TrainingStopped


@dataclass(frozen=True)
class Group:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def current_group() -> Group:
    """This process's place in the process group (rank 0 of 1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size())
    return Group()


def shard(idx: Tensor, group: Group) -> Tensor:
    """This process's contiguous part of a global batch of indices."""
    return idx if group.world == 1 else idx.tensor_split(group.world)[group.rank]


def all_true(flag: bool, group: Group) -> bool:
    """True only when `flag` holds on every process (so all skip a step together, or none does)."""
    if group.world == 1:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def average_record(record: dict[str, Any], group: Group) -> dict[str, Any]:
    """Average every number of an epoch summary over the processes (equal shards: the global mean)."""
    if group.world == 1:
        return record
    gathered: list[dict[str, Any]] = [{} for _ in range(group.world)]
    dist.all_gather_object(gathered, record)
    return _mean_of(gathered)


def _mean_of(records: list[Any]) -> Any:
    first = records[0]
    if isinstance(first, dict):
        return {k: _mean_of([r[k] for r in records]) for k in first}
    if isinstance(first, list):
        return [_mean_of(list(items)) for items in zip(*records)]
    if isinstance(first, float):
        return sum(records) / len(records)
    return first  # ints (counts, identical on every rank) and strings


def all_gather(obj: Any, group: Group) -> list[Any]:
    """Every process's `obj` (picklable), in rank order (on every process)."""
    if group.world == 1:
        return [obj]
    out: list[Any] = [None for _ in range(group.world)]
    dist.all_gather_object(out, obj)
    return out


def gather_rng(group: Group) -> list[Tensor]:
    """Every process's torch random-number state, in rank order (on every process)."""
    return all_gather(torch.get_rng_state(), group)


def barrier(group: Group) -> None:
    if group.world > 1:
        dist.barrier()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, backend: str, fn: Callable[..., Any], args: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the launcher passes a Ctrl-C on as SIGTERM
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    dist.init_process_group(backend, rank=rank, world_size=world)
    try:
        fn(*args)
    finally:
        dist.destroy_process_group()


def launch(nproc: int, fn: Callable[..., Any], *args: Any, backend: str | None = None) -> None:
    """Run fn(*args) in nproc processes on this machine, joined in one process group (fn must be picklable)."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    context = mp.start_processes(_worker, args=(nproc, _free_port(), backend, fn, args), nprocs=nproc, join=False,
                                 start_method="spawn")
    with _forward_signals(context.processes) as received:
        try:
            while not context.join():
                pass
        except mp.ProcessRaisedException as err:  # keep the worker's own last line, not the whole traceback
            last = str(err).strip().splitlines()[-1]
            stopped = f"{TrainingStopped.__module__}.{TrainingStopped.__qualname__}: "
            if last.startswith(stopped):
                raise TrainingStopped(last.removeprefix(stopped), received[0] if received else None) from None
            raise DistributedError(f"a training process failed: {last}") from None
        except mp.ProcessExitedException as err:
            raise DistributedError(f"a training process ended early (exit code {err.exit_code})") from None


@contextmanager
def _forward_signals(processes: list[Any]) -> Iterator[list[int]]:
    """While inside: SIGINT and SIGTERM to this process are sent on to `processes` as SIGTERM (the first asks
    them to stop after a step, a second to stop at once); yields the list of signals received."""
    received: list[int] = []

    def forward(signum: int, frame: Any) -> None:
        received.append(signum)
        for p in processes:
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)

    main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = {sig: signal.signal(sig, forward) for sig in SIGNALS} if main else {}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class DistributedError(RuntimeError):
    """A process of a data-parallel run failed; the message holds its error."""


def init_from_environment() -> bool:
    """Join the process group that torchrun describes in the environment; False when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True
