"""Speed of the ADGM semi-supervised training step on MNIST-100 settings, enumeration over 10 classes included.

    python benchmarks/adgm_speed.py [--threads 1] [--rounds 5] [--steps 10]

Measures, in one run: the float32 matmul peak (1024 x 1024 matmuls, before and after), and examples/s of the
step of configs/adgm/mnist-100-adgm.yaml (100 labelled + 100 unlabelled examples of 444 inputs; the unlabelled
bound enumerates the 10 classes in one pass: 1000 rows; objective, StepGuard's backward/clip/step, Adam) under
the execution settings of vaelab/execution.py as they were added (benchmarks/speed.py has the same rows),
timed in interleaved rounds (median). FLOPs are counted by torch.utils.flop_counter on the real step (matrix
products, forward and backward); the step's matrix products replayed alone give its ceiling. Synthetic binary
inputs: the speed does not depend on the pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (flops, interleaved_seconds, matmul_ceiling, matmul_peak_gflops, optimizer_seconds,  # noqa: E402
                    write_results)
from speed import TRAIN_VARIANTS  # noqa: E402

from vaelab.config import load_config  # noqa: E402
from vaelab.execution import Execution  # noqa: E402
from vaelab.objectives.semisupervised import semi_supervised_objective  # noqa: E402
from vaelab.runs import build_model  # noqa: E402
from vaelab.train import TrainSettings  # noqa: E402
from vaelab.train.loop import StepGuard  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class _Step:
    def __init__(self, settings: dict) -> None:
        torch.manual_seed(0)
        cfg = load_config(ROOT / "configs/adgm/mnist-100-adgm.yaml")
        self.model = build_model(cfg, 444)
        self.ex = Execution.create(device="cpu", **settings)
        self.opt = self.ex.optimizer(self.model.parameters(), cfg.train.lr)
        self.guard = StepGuard(TrainSettings(), execution=self.ex)
        self.objective = self.ex.objective(semi_supervised_objective)
        gen = torch.Generator().manual_seed(1)
        self.x_l, self.y_l = torch.rand(100, 444, generator=gen).bernoulli(), torch.arange(100) % 10
        self.x_u = torch.rand(100, 444, generator=gen).bernoulli()

    def __call__(self) -> None:
        with self.ex.running():
            obj = self.objective(self.model, self.x_l, self.y_l, self.x_u, alpha=60.0, beta=1.0)
            self.guard.step(self.model, self.opt, obj.loss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="steps per variant per round")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    peak_before = matmul_peak_gflops()
    steps = {name: _Step(v) for name, v in TRAIN_VARIANTS.items()}
    warm = {}
    for name, step in steps.items():
        start = time.perf_counter()
        for _ in range(3):
            step()
        warm[name] = time.perf_counter() - start
    step_flops = flops(next(iter(steps.values())))
    seconds = interleaved_seconds(steps, args.rounds, args.steps)
    ceiling = matmul_ceiling(next(iter(steps.values())))
    adam = optimizer_seconds(steps["+ fused Adam"].opt)
    floor = ceiling + adam
    peak_after = matmul_peak_gflops()
    peak = max(peak_before, peak_after)
    variants = {name: {"seconds_per_step": dt, "examples_per_second": 200 / dt,
                       "achieved_gflops": step_flops / dt / 1e9, "fraction_of_peak": step_flops / dt / 1e9 / peak}
                for name, dt in seconds.items()}
    figures = {"threads": torch.get_num_threads(), "gflop_per_step": step_flops / 1e9, "variants": variants,
               "warmup_seconds": warm, "matmul_only_seconds": ceiling, "fused_adam_only_seconds": adam,
               "matmul_peak_gflops_before": peak_before, "matmul_peak_gflops_after": peak_after,
               "settings": "configs/adgm/mnist-100-adgm.yaml: 444-500-500 networks, a = z = 100, 10 classes, "
                           "100 labelled + 100 unlabelled per step, 1 sample of a and z"}
    rows = "\n".join(f"| {name} | {v['seconds_per_step'] * 1e3:.1f} | {v['examples_per_second']:.0f} | "
                     f"{v['achieved_gflops']:.1f} | {v['fraction_of_peak']:.0%} | {warm[name]:.1f} |"
                     for name, v in variants.items())
    md = f"""Step: J of eq. 13 on 100 labelled + 100 unlabelled MNIST-sized examples (444 inputs), the unlabelled
bound enumerating all 10 classes in one pass (1000 rows), objective + backward + clip + Adam,
{torch.get_num_threads()} thread(s); {step_flops / 1e9:.2f} GFLOP of matrix products per step. Float32 matmul peak
(1024 x 1024) before / after: {peak_before:.1f} / {peak_after:.1f} GFLOP/s. Variants are cumulative, timed in
interleaved rounds (median).

| execution | ms/step | examples/s | GFLOP/s | fraction of matmul peak | warm-up, 3 steps (s) |
| --- | --- | --- | --- | --- | --- |
{rows}
| the step's matrix products alone, back to back (ceiling) | {ceiling * 1e3:.1f} | | {step_flops / ceiling / 1e9:.1f} | {step_flops / ceiling / 1e9 / peak:.0%} | |
| floor: those matrix products + one fused Adam step ({adam * 1e3:.1f} ms) alone | {floor * 1e3:.1f} | | {step_flops / floor / 1e9:.1f} | {step_flops / floor / 1e9 / peak:.0%} | |

The paper reports no speed.
"""
    print(write_results("adgm_speed", figures, md).read_text())


if __name__ == "__main__":
    main()
