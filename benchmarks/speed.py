"""Speed of the 5-layer Ladder VAE (and VAE) on this machine, as a fraction of its own float32 matmul peak.

    python benchmarks/speed.py [--threads N] [--rounds 5] [--steps 10]

Measures, in one run: the matmul peak (1024x1024 float32 matmuls); the training step at batch 256 (the
objective, StepGuard's backward/clip/step, Adam) and L_5000 evaluation throughput (chunked as `vaelab
evaluate` does), each under the execution settings of vaelab/execution.py as they were added, one after the
other (before/after in the same run). Variants are timed in interleaved rounds and the median round is
kept, so a change of machine load hits all of them alike. FLOPs are counted by torch.utils.flop_counter
(matrix products only), so "fraction of peak" is matmul FLOP/s achieved divided by the matmul peak. For
scale, the same matrix products replayed back to back without anything else give the ceiling of a step.
Peak resident memory is measured in separate processes (`memory` sub-command, also run by default).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (RESULTS, flops, interleaved_seconds, matmul_ceiling, matmul_peak_gflops,  # noqa: E402
                    optimizer_seconds, write_results)

from vaelab.config import load_config  # noqa: E402
from vaelab.evaluation import log_likelihood  # noqa: E402
from vaelab.evaluation.settings import EvalSettings  # noqa: E402
from vaelab.execution import Execution  # noqa: E402
from vaelab.objectives import elbo  # noqa: E402
from vaelab.runs import build_model  # noqa: E402
from vaelab.train import TrainSettings  # noqa: E402
from vaelab.train.loop import StepGuard  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs/lvae/mnist-5layer.yaml"
# Cumulative, in the order they were added; the first row is how the training loop first ran.
TRAIN_VARIANTS = {
    "before: eager, distribution checks, for-loop Adam": dict(check_distributions=True, fused_adam=False),
    "no distribution checks": dict(fused_adam=False),
    "+ fused Adam": dict(),
    "+ torch.compile": dict(compile=True),
}
EVAL_VARIANTS = {
    "before: eager, distribution checks": dict(check_distributions=True),
    "no distribution checks": dict(),
    "+ torch.compile": dict(compile=True),
}


class _TrainStep:
    """One variant's model, optimiser and step, as fit() runs it."""

    def __init__(self, family: str, settings: dict) -> None:
        torch.manual_seed(0)
        self.model = build_model(load_config(CONFIG, [f"model.family={family}"]), 784)
        self.ex = Execution.create(device="cpu", **settings)
        self.opt = self.ex.optimizer(self.model.parameters(), 1e-3)
        self.guard = StepGuard(TrainSettings(), execution=self.ex)
        self.objective = self.ex.objective(elbo)
        self.x = torch.rand(256, 784, generator=torch.Generator().manual_seed(1)).bernoulli()

    def __call__(self) -> None:
        with self.ex.running():
            obj = self.objective(self.model, self.x, beta=0.5)
            self.guard.step(self.model, self.opt, obj.loss)


def train_speed(family: str, rounds: int, steps: int) -> dict:
    variants = {name: _TrainStep(family, v) for name, v in TRAIN_VARIANTS.items()}
    compile_s = {}
    for name, step in variants.items():  # warm up; compilation happens here
        start = time.perf_counter()
        for _ in range(3):
            step()
        compile_s[name] = time.perf_counter() - start
    step_flops = flops(next(iter(variants.values())))
    seconds = interleaved_seconds(variants, rounds, steps)
    ceiling = matmul_ceiling(next(iter(variants.values())))
    adam = optimizer_seconds(variants["+ fused Adam"].opt)
    return {"flops_per_step": step_flops, "matmul_only_seconds": ceiling, "fused_adam_only_seconds": adam,
            "warmup_seconds": compile_s,
            "variants": {name: {"ms_per_step": dt * 1e3, "samples_per_s": 256 / dt,
                                "gflops_per_s": step_flops / dt / 1e9}
                         for name, dt in seconds.items()}}


def _eval_model_and_data(n: int) -> tuple[torch.nn.Module, torch.Tensor]:
    """The 5-layer LVAE in eval mode (seed 0) and n synthetic binary images (seed 2), for the L_K timings."""
    torch.manual_seed(0)
    model = build_model(load_config(CONFIG), 784).eval()
    return model, torch.rand(n, 784, generator=torch.Generator().manual_seed(2)).bernoulli()


def eval_speed(rounds: int, n: int, chunk: int) -> dict:
    model, x = _eval_model_and_data(n)
    runs = {}
    for name, v in EVAL_VARIANTS.items():
        ex = Execution.create(device="cpu", **v)
        runs[name] = lambda ex=ex: log_likelihood(model, x, k=chunk, batch_size=n, sample_chunk=chunk, execution=ex)
    warm = {}
    for name, fn in runs.items():
        start = time.perf_counter()
        fn()
        warm[name] = time.perf_counter() - start
    eager = lambda: log_likelihood(model, x, k=chunk, batch_size=n, sample_chunk=chunk)  # noqa: E731
    chunk_flops = flops(eager)
    seconds = interleaved_seconds(runs, rounds, 2)
    rows = n * chunk
    return {"flops_per_chunk": chunk_flops, "rows_per_chunk": rows, "warmup_seconds": warm,
            "matmul_only_seconds": matmul_ceiling(eager, repeats=5),
            "variants": {name: {"importance_samples_per_s": rows / dt, "gflops_per_s": chunk_flops / dt / 1e9,
                                "projected_minutes_10k_test_L5000": dt / rows * 10000 * 5000 / 60}
                         for name, dt in seconds.items()}}


CHUNK_SHAPES = ((4, 250), (20, 250), (100, 250))  # (examples, importance samples) per chunk; the last: old defaults


def eval_chunk_sizes(rounds: int) -> dict:
    """Importance samples/s of L_K against the rows of one chunk, eager and compiled, interleaved in one run.

    Big chunks make big matrix products but stream their activations through memory; the element-wise work
    is cheaper while a chunk's activations stay in the caches.
    """
    model, x = _eval_model_and_data(max(n for n, _ in CHUNK_SHAPES))
    runs = {}
    for compiled in (False, True):
        ex = Execution.create(device="cpu", compile=compiled)
        for n, chunk in CHUNK_SHAPES:
            runs[(n, chunk, compiled)] = lambda ex=ex, n=n, chunk=chunk: log_likelihood(
                model, x[:n], k=2 * chunk, batch_size=n, sample_chunk=chunk, execution=ex)
    for fn in runs.values():  # compiles once per shape
        fn()
    seconds = interleaved_seconds(runs, rounds, 1)
    return {f"{n} x {chunk}": {"rows": n * chunk,
                               "eager": 2 * n * chunk / seconds[(n, chunk, False)],
                               "compiled": 2 * n * chunk / seconds[(n, chunk, True)]}
            for n, chunk in CHUNK_SHAPES}


_SETUP = """
import torch
from vaelab.config import load_config; from vaelab.runs import build_model; from vaelab.objectives import elbo
from vaelab.execution import Execution; from vaelab.evaluation import log_likelihood
from vaelab.evaluation.settings import EvalSettings; e = EvalSettings()
m = build_model(load_config({cfg!r}), 784); ex = Execution.create(device='cpu')
"""
PHASES = {  # name -> (setup after _SETUP, the phase whose peak is measured)
    "training": ("opt = ex.optimizer(m.parameters(), 1e-3); x = torch.rand(256, 784).bernoulli()",
                 "with ex.running():\n    for _ in range(20):\n        opt.zero_grad(); elbo(m, x).loss.backward(); opt.step()"),
    "L_1000": ("m.eval(); x = torch.rand(200, 784).bernoulli()",
               "log_likelihood(m, x, k=1000, batch_size=e.batch_size, sample_chunk=e.sample_chunk)"),
    "L_5000": ("m.eval(); x = torch.rand(200, 784).bernoulli()",
               "log_likelihood(m, x, k=5000, batch_size=e.batch_size, sample_chunk=e.sample_chunk)"),
}


def _phase_memory(setup: str, phase: str) -> dict[str, float]:
    """A fresh process: resident memory after imports and setup, and the peak during the phase (MiB).

    The kernel's high-water mark is reset after the setup (/proc/self/clear_refs), so the peak is the phase's own.
    """
    probe = (_SETUP.format(cfg=str(CONFIG)) + setup + "\n"
             "def kib(key):\n    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key))\n"
             "open('/proc/self/clear_refs', 'w').write('5'); before = kib('VmRSS:')\n"
             + phase + "\nprint(before / 1024, kib('VmHWM:') / 1024)\n")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": str(torch.get_num_threads()),
                              "PATH": "/usr/bin:/bin"})
    before, peak = map(float, out.stdout.strip().splitlines()[-1].split())
    return {"rss_before_mib": before, "peak_mib": peak, "increase_mib": peak - before}


def memory() -> dict:
    """Per phase, in a fresh process: L_K at K = 1000 and 5000 with the same chunks shows memory independent of K."""
    return {name: _phase_memory(setup, phase) for name, (setup, phase) in PHASES.items()}


def _markdown(peak: float, load: list[str], train: dict, ev: dict, mem: dict, threads: int,
              chunks: dict | None = None) -> str:
    lines = [f"Float32 matmul peak (1024x1024, {threads} threads): **{peak:.1f} GFLOP/s**; load average during "
             f"the run: {' '.join(load)}. Variants are cumulative, timed in interleaved rounds (median).", ""]
    for family, t in train.items():
        ceiling = t["flops_per_step"] / t["matmul_only_seconds"] / 1e9
        lines += [f"### Training step, {family.upper()} 5 layers, batch 256 "
                  f"({t['flops_per_step'] / 1e9:.2f} GFLOP of matrix products per step)", "",
                  "| execution | ms/step | samples/s | GFLOP/s | fraction of matmul peak | warm-up (s) |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for name, v in t["variants"].items():
            lines.append(f"| {name} | {v['ms_per_step']:.1f} | {v['samples_per_s']:.0f} | {v['gflops_per_s']:.1f} | "
                         f"{v['gflops_per_s'] / peak:.0%} | {t['warmup_seconds'][name]:.1f} |")
        lines += [f"| the step's matrix products alone, back to back (ceiling) | {t['matmul_only_seconds'] * 1e3:.1f} | "
                  f"| {ceiling:.1f} | {ceiling / peak:.0%} | |"]
        if "fused_adam_only_seconds" in t:  # results of before this row existed lack it
            floor = t["matmul_only_seconds"] + t["fused_adam_only_seconds"]
            lines.append(f"| floor: those matrix products + one fused Adam step ({t['fused_adam_only_seconds'] * 1e3:.1f} ms) "
                         f"alone | {floor * 1e3:.1f} | | {t['flops_per_step'] / floor / 1e9:.1f} | "
                         f"{t['flops_per_step'] / floor / 1e9 / peak:.0%} | |")
        lines.append("")
    lines += [f"### L_5000 evaluation, LVAE 5 layers ({ev['rows_per_chunk']} importance samples per chunk)", "",
              "| execution | importance samples/s | GFLOP/s | fraction of matmul peak | 10,000 test images, K = 5000 (min) "
              "| warm-up (s) |", "| --- | --- | --- | --- | --- | --- |"]
    for name, v in ev["variants"].items():
        lines.append(f"| {name} | {v['importance_samples_per_s']:.0f} | {v['gflops_per_s']:.1f} | "
                     f"{v['gflops_per_s'] / peak:.0%} | {v['projected_minutes_10k_test_L5000']:.1f} | "
                     f"{ev['warmup_seconds'][name]:.1f} |")
    if "matmul_only_seconds" in ev:
        c = ev["flops_per_chunk"] / ev["matmul_only_seconds"] / 1e9
        lines.append(f"| the chunk's matrix products alone, back to back (ceiling) | "
                     f"{ev['rows_per_chunk'] / ev['matmul_only_seconds']:.0f} | {c:.1f} | {c / peak:.0%} | | |")
    if chunks:
        lines += ["", "L_K throughput against the size of a chunk (examples x importance samples), timed in "
                  "interleaved rounds in one run:", "",
                  "| chunk | rows | eager samples/s | compiled samples/s |", "| --- | --- | --- | --- |"]
        lines += [f"| {name} | {c['rows']} | {c['eager']:.0f} | {c['compiled']:.0f} |" for name, c in chunks.items()]
    if mem:
        e = EvalSettings()
        mem_chunk = f"{e.batch_size} examples x {e.sample_chunk} importance samples"
        lines += ["", "Resident memory, a fresh process per phase (MiB): after imports, model and data; the peak "
                  "during the phase; the increase. Training: 20 steps at batch 256. L_K: 200 examples with the eval "
                  f"defaults ({mem_chunk} per chunk).", "",
                  "| phase | before | peak | increase |", "| --- | --- | --- | --- |"]
        lines += [f"| {name} | {m['rss_before_mib']:.0f} | {m['peak_mib']:.0f} | {m['increase_mib']:.0f} |"
                  for name, m in mem.items()]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=10, help="training steps per variant per round")
    p.add_argument("--eval-examples", type=int, default=20, help="examples per L_K chunk in the speed test")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--memory-only", action="store_true", help="measure memory again, keep the timings of speed.json")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.memory_only:
        old = json.loads((RESULTS / "speed.json").read_text())
        figures = {k: old.get(k, {}) for k in ("matmul_peak_gflops", "load_average", "train", "eval_L5000",
                                               "eval_chunks")}
        figures["memory"] = memory()
        md = f"Timings from `{old['command']}` at {old['date']}; memory from this command.\n\n" + _markdown(
            old["matmul_peak_gflops"], old["load_average"], old["train"], old["eval_L5000"],
            figures["memory"], old["machine"]["torch_threads"], figures["eval_chunks"])
        print(write_results("speed", {**figures, "timings_from": old["command"] + " at " + old["date"]}, md).read_text())
        return
    peak = matmul_peak_gflops()
    train = {family: train_speed(family, a.rounds, a.steps) for family in ("lvae", "vae")}
    ev = eval_speed(a.rounds, a.eval_examples, chunk=250)
    chunks = eval_chunk_sizes(a.rounds)
    peak = max(peak, matmul_peak_gflops())
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    mem = {} if a.no_memory else memory()
    figures = {"matmul_peak_gflops": peak, "load_average": load, "train": train, "eval_L5000": ev,
               "eval_chunks": chunks, "memory": mem}
    print(write_results("speed", figures, _markdown(peak, load, train, ev, mem, torch.get_num_threads(),
                                                     chunks)).read_text())


if __name__ == "__main__":
    main()
