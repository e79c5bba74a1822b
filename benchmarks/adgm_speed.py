"""Speed of the ADGM semi-supervised training step on MNIST-100 settings, enumeration over 10 classes included.

    python benchmarks/adgm_speed.py [--threads 1] [--steps 30]

Measures, in one run: the float32 matmul peak (1024 x 1024 matmuls, before and after), and examples/s of the
step of configs/adgm/mnist-100-adgm.yaml (100 labelled + 100 unlabelled examples of 444 inputs; the unlabelled
bound enumerates the 10 classes in one pass: 1000 rows; forward, backward, Adam). FLOPs are counted by
torch.utils.flop_counter on the real step (forward and backward), so the fraction of peak is achieved FLOP/s
divided by the matmul peak. Synthetic binary inputs: the speed does not depend on the pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import matmul_peak_gflops, write_results  # noqa: E402

from vaelab.config import load_config  # noqa: E402
from vaelab.objectives.semisupervised import semi_supervised_objective  # noqa: E402
from vaelab.runs import build_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = load_config(ROOT / "configs/adgm/mnist-100-adgm.yaml")
    model = build_model(cfg, 444)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    x_l, y_l = torch.rand(100, 444).bernoulli(), torch.arange(100) % 10
    x_u = torch.rand(100, 444).bernoulli()

    def step() -> None:
        obj = semi_supervised_objective(model, x_l, y_l, x_u, alpha=60.0)
        opt.zero_grad(set_to_none=True)
        obj.loss.backward()
        opt.step()

    with FlopCounterMode(display=False) as counter:
        step()
    flops = counter.get_total_flops()
    peak_before = matmul_peak_gflops()
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    peak_after = matmul_peak_gflops()
    achieved = flops / seconds / 1e9
    peak = max(peak_before, peak_after)
    figures = {"threads": args.threads, "steps_timed": args.steps, "seconds_per_step": seconds,
               "examples_per_second": 200 / seconds, "gflop_per_step": flops / 1e9, "achieved_gflops": achieved,
               "matmul_peak_gflops_before": peak_before, "matmul_peak_gflops_after": peak_after,
               "fraction_of_peak": achieved / peak,
               "settings": "configs/adgm/mnist-100-adgm.yaml: 444-500-500 networks, a = z = 100, 10 classes, "
                           "100 labelled + 100 unlabelled per step, 1 sample of a and z"}
    md = f"""Step: J of eq. 13 on 100 labelled + 100 unlabelled MNIST-sized examples (444 inputs), the unlabelled
bound enumerating all 10 classes in one pass (1000 rows), forward + backward + Adam, {args.threads} thread(s).

| quantity | value |
| --- | --- |
| seconds per step | {seconds:.4f} |
| examples per second (labelled + unlabelled) | {200 / seconds:.0f} |
| GFLOP per step (torch flop counter, forward + backward) | {flops / 1e9:.2f} |
| achieved GFLOP/s | {achieved:.1f} |
| float32 matmul peak, 1024 x 1024 (before / after) | {peak_before:.1f} / {peak_after:.1f} GFLOP/s |
| fraction of peak | {100 * achieved / peak:.0f}% |

The machine is shared with other jobs, so step time and peak both vary between runs; they were measured in
the same run, close in time. The paper reports no speed.
"""
    print(write_results("adgm_speed", figures, md).read_text())


if __name__ == "__main__":
    main()
