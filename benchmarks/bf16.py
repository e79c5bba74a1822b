"""bf16 autocast against float32 on this CPU: training (numbers and speed) and L_K (agreement and speed).

    python benchmarks/bf16.py train [--steps 235] [--threads 1]
    python benchmarks/bf16.py eval [--run benchmarks/runs/lvae5-paper-length] [--n 500] [--k 5000] [--threads 1]

`train`: the 5-layer Ladder VAE of configs/lvae/mnist-5layer.yaml, one model per variant from the same seed, fed
the same MNIST batches of 256 (binarised once, seeded), Adam lr 1e-3 as in training, beta = 1; the variants'
steps are interleaved one by one so that the machine's load hits them alike (the held-open block runs alone,
after them). Variants: float32; bf16 as vaelab
runs it (autocast around each objective call, execution.py); and bf16 with one autocast block held open over all
steps, as vaelab ran it before: autocast keeps the bf16 copy of each weight until its block ends, so every forward
pass uses the first step's weights. Each eager and compiled.
`eval`: L_K of the first N test images under a trained run's last checkpoint, float32 and bf16, the same random
draws (seeded per chunk): the paired difference per image, its mean and standard error, and the seconds of each.
Results: results/bf16_train.{json,md} and results/bf16_eval.{json,md}; benchmarks/results/bf16.md sums them up.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lvae5_training_parts, write_results  # noqa: E402

from vaelab.data import load_dataset  # noqa: E402
from vaelab.evaluation import log_likelihood, standard_error  # noqa: E402
from vaelab.execution import Execution  # noqa: E402
from vaelab.objectives import elbo  # noqa: E402
from vaelab.runs import load_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "mnist"
VARIANTS = {  # name -> (precision, compile, one autocast block over all steps)
    "float32 eager": ("float32", False, False),
    "bf16 eager": ("bf16", False, False),
    "bf16 eager, one autocast block (before the fix)": ("bf16", False, True),
    "float32 compiled": ("float32", True, False),
    "bf16 compiled": ("bf16", True, False),
}
WINDOWS = ((1, 20), (101, 120), (216, 235))


class _Trainer:
    def __init__(self, precision: str, compile: bool, held_open: bool) -> None:
        self.ex = Execution.create(device="cpu", precision=precision, compile=compile)
        self.model, self.opt, self.guard = lvae5_training_parts(self.ex)
        self.objective = self.ex.objective(elbo)
        self.block = torch.autocast("cpu", torch.bfloat16) if held_open else contextlib.nullcontext()  # see train()
        self.losses: list[float] = []
        self.seconds: list[float] = []

    def step(self, x: torch.Tensor) -> None:
        start = time.perf_counter()
        with self.ex.running():
            obj = self.objective(self.model, x, beta=1.0)
            self.guard.step(self.model, self.opt, obj.loss)
        self.seconds.append(time.perf_counter() - start)
        self.losses.append(float(obj.loss.detach()))


def train(a: argparse.Namespace) -> None:
    torch.set_num_threads(a.threads)
    data = load_dataset("mnist", DATA, download=False)
    gen = torch.Generator().manual_seed(1)
    x = torch.from_numpy(data.x_train).bernoulli(generator=gen)[torch.randperm(60000, generator=gen)]
    batches = x[: a.steps * 256].split(256)
    trainers = {name: _Trainer(*v) for name, v in VARIANTS.items()}
    interleaved = {n: t for n, t in trainers.items() if not VARIANTS[n][2]}
    for xb in batches:
        for t in interleaved.values():
            t.step(xb)
    for name, t in trainers.items():  # autocast state is per thread: a block held open runs alone, after
        if VARIANTS[name][2]:
            with t.block:
                for xb in batches:
                    t.step(xb)
    rows = {}
    for name, t in trainers.items():
        rows[name] = {"loss_windows": {f"{lo}-{hi}": statistics.mean(t.losses[lo - 1:hi]) for lo, hi in WINDOWS
                                       if hi <= len(t.losses)},
                      "ms_per_step": 1000 * statistics.median(t.seconds[10:]), "losses": t.losses}
    heads = [f"{lo}-{hi}" for lo, hi in WINDOWS if hi <= a.steps]
    lines = [f"| {name} | " + " | ".join(f"{r['loss_windows'][h]:.2f}" for h in heads) + f" | {r['ms_per_step']:.1f} |"
             for name, r in rows.items()]
    md = (f"Loss (-ELBO, nats, batch mean) averaged over the steps shown, and the median step time after 10 steps; "
          f"{a.steps} steps of 256, {a.threads} thread(s), steps of the variants interleaved.\n\n"
          "| variant | " + " | ".join(f"steps {h}" for h in heads) + " | ms / step |\n"
          "| --- | " + " | ".join("---" for _ in heads) + " | --- |\n" + "\n".join(lines))
    print(write_results("bf16_train", {"steps": a.steps, "threads": a.threads, "variants": rows}, md).read_text())


def _ll(model: torch.nn.Module, x: torch.Tensor, k: int, precision: str, chunk: int) -> tuple[torch.Tensor, float]:
    """L_K per example with the same draws for either precision (seeded per chunk of examples)."""
    ex = Execution.create(device="cpu", precision=precision)
    start, parts = time.perf_counter(), []
    for i, xb in enumerate(x.split(chunk)):
        torch.manual_seed(i)
        parts.append(log_likelihood(model, xb, k, execution=ex))
    return torch.cat(parts), time.perf_counter() - start


def evaluate(a: argparse.Namespace) -> None:
    torch.set_num_threads(a.threads)
    config, model, splits, state = load_run(a.run, "last")
    x = splits.test[: a.n]
    ll32, s32 = _ll(model, x, a.k, "float32", a.chunk)
    ll16, s16 = _ll(model, x, a.k, "bf16", a.chunk)
    diff = ll16 - ll32
    run = Path(a.run).resolve()
    figures = {"run": str(run.relative_to(ROOT)) if run.is_relative_to(ROOT) else str(run), "epoch": state.get("epoch"), "n": a.n, "k": a.k, "threads": a.threads,
               "float32": float(ll32.mean()), "bf16": float(ll16.mean()), "mean_difference": float(diff.mean()),
               "difference_se": standard_error(diff), "max_abs_difference": float(diff.abs().max()),
               "seconds_float32": s32, "seconds_bf16": s16}
    md = (f"L_{a.k} of the first {a.n} test images, last checkpoint of {Path(a.run).name} (epoch "
          f"{figures['epoch']}), {a.threads} thread(s), the same draws for both precisions.\n\n"
          "| precision | L_K (nats) | seconds |\n| --- | --- | --- |\n"
          f"| float32 | {figures['float32']:.3f} | {s32:.0f} |\n| bf16 autocast | {figures['bf16']:.3f} | {s16:.0f} |\n\n"
          f"bf16 - float32 per image: mean {figures['mean_difference']:+.3f} nats (standard error "
          f"{figures['difference_se']:.3f}), largest |difference| {figures['max_abs_difference']:.3f}; "
          f"time ratio bf16 / float32 {s16 / s32:.2f}.")
    print(write_results("bf16_eval", figures, md).read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["train", "eval"])
    p.add_argument("--steps", type=int, default=235)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--run", type=Path, default=ROOT / "benchmarks/runs/lvae5-paper-length")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--k", type=int, default=5000)
    p.add_argument("--chunk", type=int, default=100, help="test images per seeded chunk")
    a = p.parse_args()
    {"train": train, "eval": evaluate}[a.action](a)


if __name__ == "__main__":
    main()
