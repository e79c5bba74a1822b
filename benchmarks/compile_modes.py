"""torch.compile modes for the 5-layer Ladder VAE training step on this CPU: a lever measured, not adopted.

    python benchmarks/compile_modes.py [--steps 150] [--threads 1] [--modes eager default max-autotune-no-cudagraphs]

The step of benchmarks/speed.py (configs/lvae/mnist-5layer.yaml, batch 256, the ELBO at beta 0.5, StepGuard's
backward and fused Adam), one model per mode from the same seed, the modes taking turns step by step so that
the machine's load hits them alike; the median step after 3 warm-up steps (which include compilation).
vaelab compiles with the default mode (src/vaelab/execution.py). Results: results/compile_modes.{json,md}.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import lvae5_training_parts, write_results  # noqa: E402

from vaelab.execution import Execution  # noqa: E402
from vaelab.objectives import elbo  # noqa: E402



class _Step:
    def __init__(self, mode: str, x: torch.Tensor) -> None:
        self.model, self.opt, self.guard = lvae5_training_parts(Execution.create(device="cpu"))
        self.objective = elbo if mode == "eager" else torch.compile(elbo, mode=mode)
        self.x, self.seconds = x, []

    def __call__(self) -> None:
        start = time.perf_counter()
        obj = self.objective(self.model, self.x, beta=0.5)
        self.guard.step(self.model, self.opt, obj.loss)
        self.seconds.append(time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--modes", nargs="+", default=["eager", "default", "max-autotune-no-cudagraphs"])
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    x = torch.rand(256, 784, generator=torch.Generator().manual_seed(1)).bernoulli()
    steps = {mode: _Step(mode, x) for mode in a.modes}
    for _ in range(a.steps + 3):
        for step in steps.values():
            step()
    rows = {m: {"warmup_seconds": sum(s.seconds[:3]), "ms_per_step": 1000 * statistics.median(s.seconds[3:])}
            for m, s in steps.items()}
    base = rows.get("default", next(iter(rows.values())))["ms_per_step"]
    lines = "\n".join(f"| {m} | {r['ms_per_step']:.1f} | {r['ms_per_step'] / base:.2f} | {r['warmup_seconds']:.1f} |"
                      for m, r in rows.items())
    md = (f"{a.steps} interleaved steps per mode, {a.threads} thread(s), median after 3 warm-up steps; the machine "
          "was shared with other jobs, so only the ratios of this one run count.\n\n"
          "| mode | ms / step | ratio to default | warm-up seconds (3 steps, compilation) |\n| --- | --- | --- | --- |\n"
          + lines)
    print(write_results("compile_modes", {"steps": a.steps, "threads": a.threads, "modes": rows}, md).read_text())


if __name__ == "__main__":
    main()
