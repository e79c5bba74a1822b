"""What every benchmark uses: the machine's description and writing results (json + md)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import statistics

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What ran the benchmark: CPU model, cores, threads torch uses, torch version."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version()}


def header() -> dict:
    return {"command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "torch": torch.__version__}


def run_script(main) -> None:
    """Run a benchmark's main(); a training stopped by a signal ends in one line, not a traceback.

    The line says where the run stopped and that the same command continues it (a benchmark's own
    command, not `vaelab train --resume`, so that what it records after each epoch is not skipped).
    """
    from vaelab.train import TrainingStopped

    try:
        main()
    except TrainingStopped as stop:
        where = str(stop).split("; resume with:")[0]
        command = shlex.join([Path(sys.executable).name, *sys.argv])
        print(f"{Path(sys.argv[0]).name}: {where}; run the same command to continue: {command}", file=sys.stderr)
        raise SystemExit(stop.exit_code) from None


def write_results(name: str, figures: dict, markdown: str) -> Path:
    """benchmarks/results/<name>.json (header + figures) and <name>.md (the header, then the table)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {**header(), **figures}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    m = record["machine"]
    md = (f"# {name}\n\nCommand: `{record['command']}`  \nDate: {record['date']}  \n"
          f"Machine: {m['cpu']}, {m['cores']} cores, torch {record['torch']} ({m['torch_threads']} threads)\n\n"
          + markdown.strip() + "\n")
    (RESULTS / f"{name}.md").write_text(md)
    return RESULTS / f"{name}.md"


def matmul_peak_gflops(n: int = 1024, seconds: float = 3.0) -> float:
    """The machine's own float32 matmul throughput (GFLOP/s) with torch's current thread setting."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n ** 3 * count / (time.perf_counter() - start) / 1e9


def flops(fn) -> int:
    """Matrix-product FLOPs of one call of fn (torch.utils.flop_counter)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


class _Matmuls(TorchDispatchMode):
    """Records the operands' shapes of every matrix product."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = str(func)
        if name.startswith(("aten.mm", "aten.addmm")):
            a, b = (args[1], args[2]) if name.startswith("aten.addmm") else (args[0], args[1])
            self.shapes.append((tuple(a.shape), tuple(b.shape)))
        elif name.startswith("aten.linear"):  # inference mode does not decompose linear into addmm
            x, w = args[0], args[1]
            self.shapes.append(((x.numel() // x.shape[-1], x.shape[-1]), (w.shape[1], w.shape[0])))
        return func(*args, **(kwargs or {}))


def matmul_ceiling(step, repeats: int = 30) -> float:
    """Seconds per step of the step's matrix products alone, replayed back to back."""
    with _Matmuls() as rec:
        step()
    mats = [(torch.randn(*a), torch.randn(*b)) for a, b in rec.shapes]
    for a, b in mats:
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        for a, b in mats:
            a @ b
    return (time.perf_counter() - start) / repeats


def optimizer_seconds(opt: torch.optim.Optimizer, repeats: int = 30) -> float:
    """Seconds per call of opt.step() alone, on the gradients the last step left (Adam's memory traffic)."""
    opt.step()
    start = time.perf_counter()
    for _ in range(repeats):
        opt.step()
    return (time.perf_counter() - start) / repeats


def interleaved_seconds(fns: dict, rounds: int, calls: int) -> dict[str, float]:
    """Median over rounds of seconds per call, the variants taking turns within each round (a change of machine
    load hits all of them alike)."""
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def label_references(run_dir: Path, with_points: bool = False) -> dict:
    """What labels alone give on a semi-supervised run's test set, beside the model's error.

    Test error (fraction) of 25-NN trained on every training label (how separable the classes are) and of 1-NN
    on the run's labelled examples only (what the few labels give without the unlabelled data); with_points adds
    those examples' inputs and labels.
    """
    from sklearn.neighbors import KNeighborsClassifier

    from vaelab.runs import LABELLED_FILE, load_run

    config, _, splits, _ = load_run(run_dir, "last")
    index = json.loads((run_dir / LABELLED_FILE).read_text())["index_in_training_split"]
    x, y, xt, yt = splits.train.numpy(), splits.train_labels.numpy(), splits.test.numpy(), splits.test_labels.numpy()
    ref = {"knn25_all_labels": 1 - KNeighborsClassifier(25).fit(x, y).score(xt, yt),
           "nn1_labelled_points": 1 - KNeighborsClassifier(1).fit(x[index], y[index]).score(xt, yt),
           "labelled_choice": config.data.labelled_choice}
    if with_points:
        ref.update(labelled_points=x[index].round(3).tolist(), labelled_labels=y[index].tolist())
    return ref


LVAE5_CONFIG = Path(__file__).resolve().parents[1] / "configs/lvae/mnist-5layer.yaml"


def lvae5_training_parts(execution):
    """The 5-layer Ladder VAE of configs/lvae/mnist-5layer.yaml from seed 0, with the optimiser (Adam lr 1e-3) and
    the StepGuard that fit() gives it under `execution`: (model, optimiser, guard)."""
    from vaelab.config import load_config
    from vaelab.runs import build_model
    from vaelab.train import TrainSettings
    from vaelab.train.loop import StepGuard

    torch.manual_seed(0)
    model = build_model(load_config(LVAE5_CONFIG), 784)
    return model, execution.optimizer(model.parameters(), 1e-3), StepGuard(TrainSettings(), execution=execution)
