"""Speed of the 5-layer Ladder VAE (and VAE) on this machine, as a fraction of its own float32 matmul peak.

    python benchmarks/speed.py [--threads N] [--steps 30]

Measures, in one run: the matmul peak (1024x1024 float32 matmuls), training samples/s at batch 256 (forward,
backward, Adam), and L_5000 evaluation throughput (importance samples/s, chunked as `vaelab evaluate` does).
FLOPs are counted by torch.utils.flop_counter on the real computation, so the fraction of peak is
achieved FLOP/s divided by the matmul peak. Also records peak resident memory (ru_maxrss) of each phase.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import matmul_peak_gflops, write_results  # noqa: E402

from vaelab.config import load_config  # noqa: E402
from vaelab.evaluation import log_likelihood  # noqa: E402
from vaelab.objectives import elbo  # noqa: E402
from vaelab.runs import build_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def train_speed(family: str, steps: int) -> dict:
    cfg = load_config(ROOT / "configs/lvae/mnist-5layer.yaml", [f"model.family={family}"])
    model = build_model(cfg, 784)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(256, 784).bernoulli()

    def step():
        obj = elbo(model, x)
        opt.zero_grad(set_to_none=True)
        obj.loss.backward()
        opt.step()

    flops = _flops(step)
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - start) / steps
    return {"samples_per_s": 256 / dt, "ms_per_step": dt * 1e3, "gflops_per_s": flops / dt / 1e9,
            "flops_per_step": flops}


def eval_speed(k: int, n: int, batch: int, chunk: int) -> dict:
    cfg = load_config(ROOT / "configs/lvae/mnist-5layer.yaml")
    model = build_model(cfg, 784).eval()
    x = torch.rand(n, 784).bernoulli()
    flops = _flops(lambda: log_likelihood(model, x[:batch], k=chunk, batch_size=batch, sample_chunk=chunk))
    start = time.perf_counter()
    log_likelihood(model, x, k=k, batch_size=batch, sample_chunk=chunk)
    dt = time.perf_counter() - start
    per_sample = flops / (batch * chunk)
    return {"importance_samples_per_s": n * k / dt, "seconds": dt, "examples": n, "k": k,
            "gflops_per_s": per_sample * n * k / dt / 1e9,
            "projected_seconds_10k_test_L5000": dt / (n * k) * 10000 * 5000,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--eval-examples", type=int, default=20)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    peak = matmul_peak_gflops()
    lvae = train_speed("lvae", a.steps)
    train_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    vae = train_speed("vae", a.steps)
    ev = eval_speed(5000, a.eval_examples, batch=a.eval_examples, chunk=250)
    peak_after = matmul_peak_gflops()
    peak = max(peak, peak_after)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    figures = {"matmul_peak_gflops": peak, "load_average": load, "train_lvae": lvae, "train_vae": vae,
               "train_peak_rss_mib": train_rss, "eval_L5000": ev}
    md = f"""Float32 matmul peak (1024x1024): **{peak:.1f} GFLOP/s**; load average during the run: {' '.join(load)}.

| what | throughput | GFLOP/s | fraction of matmul peak |
| --- | --- | --- | --- |
| train step, LVAE 5 layers, batch 256 | {lvae['samples_per_s']:.0f} samples/s ({lvae['ms_per_step']:.1f} ms/step) | {lvae['gflops_per_s']:.1f} | {lvae['gflops_per_s'] / peak:.0%} |
| train step, VAE 5 layers, batch 256 | {vae['samples_per_s']:.0f} samples/s ({vae['ms_per_step']:.1f} ms/step) | {vae['gflops_per_s']:.1f} | {vae['gflops_per_s'] / peak:.0%} |
| L_5000 evaluation, LVAE 5 layers | {ev['importance_samples_per_s']:.0f} importance samples/s | {ev['gflops_per_s']:.1f} | {ev['gflops_per_s'] / peak:.0%} |

Projected L_5000 over the 10,000 MNIST test images: {ev['projected_seconds_10k_test_L5000'] / 60:.1f} minutes.
Peak resident memory: training {train_rss:.0f} MiB; after L_5000 (batch {a.eval_examples} x chunk 250) {ev['peak_rss_mib']:.0f} MiB.
"""
    print(write_results("speed", figures, md).read_text())


if __name__ == "__main__":
    main()
