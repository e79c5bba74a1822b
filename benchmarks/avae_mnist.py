"""Auxiliary VAE on MNIST (ADGM section 4.3, Table 1), L = 1 and 2 stochastic layers, reduced schedule.

    python benchmarks/avae_mnist.py train 1 [--epochs 5] [--warmup 2]     # resumable
    python benchmarks/avae_mnist.py train 2
    python benchmarks/avae_mnist.py collect [--iw-samples 1000] [--limit 1000]

Presets configs/avae/mnist-avae-{1,2}layer.yaml (paper: 2000 epochs, warm-up over 200, L_5000 on the full
test set); the schedule here is stated in results/avae_mnist.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_script, write_results  # noqa: E402

from vaelab.config import load_config  # noqa: E402
from vaelab.runs import evaluate_run, train_or_resume  # noqa: E402
from vaelab.train import LAST, read_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
PAPER = {1: -84.59, 2: -82.97}


def train(layers: int, epochs: int, warmup: int, threads: int, data: str) -> None:
    train_or_resume(ROOT / f"configs/avae/mnist-avae-{layers}layer.yaml", RUNS / f"avae-{layers}layer",
                    [f"train.epochs={epochs}", f"train.threads={threads}", "train.progress=false",
                     f"train.warmup_epochs={warmup}", f"data.root={data}"])


def collect(iw_samples: int, limit: int) -> None:
    figures, rows = {}, []
    for layers in (1, 2):
        run = RUNS / f"avae-{layers}layer"
        if not (run / LAST).exists():
            continue
        metrics = read_metrics(run / "metrics.jsonl")
        r = evaluate_run(run, iw_samples=iw_samples, limit=limit, progress=False)
        figures[layers] = {"epochs": len(metrics), "test_elbo": r["elbo"],
                           "test_log_likelihood": r["log_likelihood"], "se": r["log_likelihood_se"],
                           "iw_samples": iw_samples, "n_test": r["n"], "active_units": r["active_units"]}
        warmup = load_config(run / "config.yaml").train.warmup_epochs
        rows.append(f"| {layers} | {len(metrics)} ({warmup} of warm-up) | {r['elbo']:.2f} | {r['log_likelihood']:.2f} ± "
                    f"{r['log_likelihood_se']:.2f} | {PAPER[layers]} |")
    md = f"""Reduced schedule: each model trained for the epochs shown (paper: 2000, warm-up over 200); L_K with
K = {iw_samples} on the first {limit} test images, binarised once (paper: K = 5000 on all 10,000). Shared 2-core CPU, 1 thread.

| layers | epochs | test ELBO (L_1) | test L_{iw_samples} | paper L_5000 |
| --- | --- | --- | --- | --- |
{chr(10).join(rows)}

A few epochs cannot approach the paper's numbers; these show that the models train and evaluate end to end.
"""
    print(write_results("avae_mnist", figures, md).read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["train", "collect"])
    parser.add_argument("layers", nargs="?", type=int, choices=[1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iw-samples", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    args = parser.parse_args()
    if args.action == "train":
        if args.layers is None:
            parser.error("train needs the number of layers: 1 or 2")
        train(args.layers, args.epochs, args.warmup, args.threads, args.data)
    else:
        collect(args.iw_samples, args.limit)


if __name__ == "__main__":
    run_script(main)
