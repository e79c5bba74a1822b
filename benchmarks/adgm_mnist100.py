"""MNIST with 100 labels (ADGM Table 2, Fig. 5): M2, ADGM and SDGM on one reduced schedule.

    python benchmarks/adgm_mnist100.py train adgm [--epochs 2]     # resumable; one family at a time
    python benchmarks/adgm_mnist100.py collect                       # test error of each trained run -> results

Presets configs/adgm/mnist-100-{m2,adgm,sdgm}.yaml (444 inputs, batch 100 labelled + 100 unlabelled, Adam 3e-4,
500-500 ReLU networks, a = z = 100). --data gives the folder of the MNIST IDX files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from vaelab.runs import evaluate_run, train_or_resume  # noqa: E402
from vaelab.train import LAST, read_metrics  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
FAMILIES = ("m2", "adgm", "sdgm")
PAPER = {"m2": "11.97 (Kingma et al. 2014)", "adgm": "about 2 near epoch 200; final 0.96 (± 0.02)",
         "sdgm": "final 1.32 (± 0.07)"}


def train(family: str, epochs: int, threads: int, data: str) -> None:
    train_or_resume(ROOT / f"configs/adgm/mnist-100-{family}.yaml", RUNS / f"mnist100-{family}",
                    [f"train.epochs={epochs}", f"train.threads={threads}", "train.progress=false", f"data.root={data}"])


def collect() -> None:
    rows, figures = [], {}
    for family in FAMILIES:
        run = RUNS / f"mnist100-{family}"
        if not (run / LAST).exists():
            continue
        metrics = read_metrics(run / "metrics.jsonl")
        result = evaluate_run(run, checkpoint="last", iw_samples=1, progress=False)
        figures[family] = {"epochs": len(metrics), "val_error": [r["val_error"] for r in metrics],
                           "train_labelled_error": [r["train_labelled_error"] for r in metrics],
                           "test_error": result["error"], "test_error_se": result["error_se"],
                           "test_elbo": result["elbo"]}
        val = ", ".join(f"{100 * e:.1f}" for e in figures[family]["val_error"])
        rows.append(f"| {family.upper()} | {len(metrics)} | {val} | {100 * result['error']:.2f} ± "
                    f"{100 * result['error_se']:.2f} | {result['elbo']:.2f} | {PAPER[family]} |")
    md = f"""Reduced schedule on a shared 2-core CPU, 1 thread: each model trained for the number of epochs shown (one epoch
= one pass over the 59,000 unlabelled training images, 590 steps of 100 labelled + 100 unlabelled; one ADGM step
takes about 0.3 s here, see adgm_speed.md), against the paper's 1000+ epochs. 1000 training images are held out
for validation (the paper trained on all 60,000). Test error on the 10,000 test images with q(y|a,x) averaged
over 10 samples of a, last checkpoint. -U(x) is the unlabelled bound (nats, 1 sample).

| model | epochs | validation error per epoch (%) | test error (%) | test -U(x) | paper test error (%) |
| --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}

The paper's Fig. 5 reports the error every 10 epochs; a run of a few epochs shows only the start of that curve.
"""
    print(write_results("adgm_mnist100", figures, md).read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["train", "collect"])
    parser.add_argument("family", nargs="?", choices=FAMILIES)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    args = parser.parse_args()
    if args.action == "train":
        if args.family is None:
            parser.error("train needs a family: m2, adgm or sdgm")
        train(args.family, args.epochs, args.threads, args.data)
    else:
        collect()


if __name__ == "__main__":
    main()
