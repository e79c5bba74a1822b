"""MNIST with 100 labels: how much the draw of the 100 labelled images moves the start of the authors' run.

    python benchmarks/mnist100_label_draws.py train [--seeds 0 1 2 3 4] [--epochs 3]   # resumable, seed after seed
    python benchmarks/mnist100_label_draws.py collect [--epochs 3]                     # results/mnist100_label_draws.*

Every run trains configs/adgm/mnist-100-authors-log.yaml (the authors' published run, setting by setting) with 1
sample of a and z (the log: 10) and its own data.seed: another draw of the 100 labelled images (10 per class),
the initialisation and every other random stream unchanged (train.seed 0). The authors' own draw cannot be made
here (the MNIST copy orders the training images differently within each class), so the spread over draws says
how far from the log's first epochs a run can land by the draw alone. Beside each run: the test error of 1-NN on
its 100 labelled images alone (pixels), what the labels give without the unlabelled data. Test error of each
epoch's last checkpoint on the 10,000 grey-level test images, one draw of a, as in the log. Run folders:
benchmarks/runs/mnist100-label-draws/seed-S.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adgm_mnist100 import _test_errors, train_config  # noqa: E402
from common import label_references, run_script, write_results  # noqa: E402
from mnist100_authors_log import log_errors  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs" / "mnist100-label-draws"
AUTHORS = ROOT / "configs" / "adgm" / "mnist-100-authors-log.yaml"


def _run(seed: int) -> Path:
    return RUNS / f"seed-{seed}"


def train(a: argparse.Namespace) -> None:
    for seed in a.seeds:
        train_config(AUTHORS, _run(seed), a.epochs, a.threads, a.data, ("train.eq_samples=1", f"data.seed={seed}"))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def collect(a: argparse.Namespace) -> None:
    log = log_errors()
    rows = []
    for run in sorted(RUNS.glob("seed-*"), key=lambda p: int(p.name.split("-")[1])):
        errors = {e: 100 * r["error"] for e, r in _test_errors(run).items() if e <= a.epochs}
        if not errors:
            continue
        ref = label_references(run)
        rows.append({"data_seed": int(run.name.split("-")[1]), "epochs": max(errors),
                     "test_error_per_epoch": errors,
                     "mean_test_error": _mean(list(errors.values())) if max(errors) == a.epochs else None,
                     "nn1_labelled_error": 100 * ref["nn1_labelled_points"]})
    log_mean = _mean([log[e] for e in range(1, a.epochs + 1)])
    done = [r for r in rows if r["mean_test_error"] is not None]
    means = [r["mean_test_error"] for r in done]
    spread = {"runs": len(done), "min": min(means, default=None), "max": max(means, default=None),
              "mean": _mean(means), "sd": statistics.stdev(means) if len(means) > 1 else None,
              "correlation_with_nn1": (statistics.correlation([r["nn1_labelled_error"] for r in done], means)
                                       if len(done) > 2 else None)}
    cell = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    epochs = range(1, a.epochs + 1)
    lines = [f"| {r['data_seed']} | {cell(r['nn1_labelled_error'])} | "
             + " | ".join(cell(r["test_error_per_epoch"].get(e)) for e in epochs)
             + f" | {cell(r['mean_test_error'])} |" for r in rows]
    lines.append("| the authors' log (their draw, 10 samples) | - | "
                 + " | ".join(cell(log[e]) for e in epochs) + f" | {cell(log_mean)} |")
    md = f"""{__doc__.split(chr(10) + chr(10))[2]}

| data.seed | 1-NN on the 100 labels (%) | {' | '.join(f'epoch {e} (%)' for e in epochs)} | mean (%) |
| --- | --- | {' | '.join('---' for _ in epochs)} | --- |
""" + "\n".join(lines) + f"""

Over the {spread['runs']} draws with all {a.epochs} epochs: mean test error {cell(spread['mean'])}%, from
{cell(spread['min'])} to {cell(spread['max'])} (standard deviation {cell(spread['sd'])}); the log's mean over the
same epochs is {cell(log_mean)}%. Correlation of a draw's mean with its 1-NN error:
{cell(spread['correlation_with_nn1'])}. Machine: the 2-core machine, 1 thread per run, shared with other runs.
"""
    print(write_results("mnist100_label_draws", {"epochs": a.epochs, "rows": rows, "spread": spread,
                                                 "log_mean": log_mean}, md).read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["train", "collect"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    a = p.parse_args()
    {"train": train, "collect": collect}[a.action](a)


if __name__ == "__main__":
    run_script(main)
