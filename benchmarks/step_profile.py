"""Where the compiled 5-layer Ladder VAE training step spends its time: torch.profiler's self CPU time by op.

    python benchmarks/step_profile.py [--steps 20] [--threads 1]

The step of benchmarks/speed.py (configs/lvae/mnist-5layer.yaml, batch 256, compiled ELBO at beta 0.5,
StepGuard's backward, gradient norm and fused Adam), profiled over --steps steps after 5 warm-up steps. Ops are
grouped: matrix products (aten::mm, aten::addmm), the compiled kernels (the fused element-wise work of the
forward and backward graphs), the gradient norm (one aten::linalg_vector_norm per parameter tensor), Adam, and
the rest (autograd engine, copies, dynamo guards). Results: results/step_profile.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lvae5_training_parts, write_results  # noqa: E402

from vaelab.execution import Execution  # noqa: E402
from vaelab.objectives import elbo  # noqa: E402

GROUPS = {  # group -> predicate on the op name; the first that matches takes the op
    "matrix products": lambda n: n in ("aten::mm", "aten::addmm"),
    "compiled kernels": lambda n: n.startswith("## Call CompiledFxGraph"),
    "gradient norm": lambda n: n == "aten::linalg_vector_norm",
    "Adam": lambda n: n.startswith("aten::_fused_adam") or n.startswith("Optimizer."),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ex = Execution.create(device="cpu", compile=True)
    model, opt, guard = lvae5_training_parts(ex)
    objective = ex.objective(elbo)
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(1)).bernoulli()

    def step() -> None:
        guard.step(model, opt, objective(model, x, beta=0.5).loss)

    for _ in range(5):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(a.steps):
            step()
    ms = {g: 0.0 for g in [*GROUPS, "the rest"]}
    for event in prof.key_averages():
        group = next((g for g, match in GROUPS.items() if match(event.key)), "the rest")
        ms[group] += event.self_cpu_time_total / 1000 / a.steps
    total = sum(ms.values())
    lines = "\n".join(f"| {g} | {v:.1f} | {100 * v / total:.0f}% |" for g, v in ms.items())
    md = (f"Self CPU time per step, {a.steps} profiled steps, {a.threads} thread(s), on a machine shared with other "
          "jobs (the shares count, not the milliseconds).\n\n| part | ms / step | share |\n| --- | --- | --- |\n"
          + lines + f"\n| total | {total:.1f} | 100% |")
    print(write_results("step_profile", {"steps": a.steps, "threads": a.threads, "ms_per_step": ms}, md).read_text())


if __name__ == "__main__":
    main()
