"""MNIST with 100 labels: which ingredient of the ADGM authors' training the test error depends on.

    python benchmarks/mnist100_ablation.py train [--epochs 20] [--only SLUG ...]   # resumable, row after row
    python benchmarks/mnist100_ablation.py collect [--epochs 20]                    # results/mnist100_ablation.*

Every row starts from the training settings of the authors' published run (configs/adgm/mnist-100-authors-log.yaml:
every batch re-binarised, all 60,000 images unlabelled, beta = 2, norm and element-wise gradient clipping, the
1/N weight prior, the authors' initialisation, grey-level test inputs) with two departures that every row shares:
the models are trained properly (q(a|x) learned, p(a|z,y) and q(z|a,x,y) as in the paper, the unlabelled stream
shuffled every epoch) and 1 sample of a and z per example instead of 10 (10 cost about 7 times as much here;
the row "10 samples" measures that ingredient alone). Each other row changes one thing. Every row trains one
epoch at a time and records the test error of each epoch's last checkpoint (all 10,000 test images) in
RUN/test_error.jsonl, in run folders benchmarks/runs/mnist100-ablation/SLUG; cut and run again, it resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from adgm_mnist100 import TEST_LOG, train_config  # noqa: E402
from common import RESULTS, run_script, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs" / "mnist100-ablation"
AUTHORS = ROOT / "configs" / "adgm" / "mnist-100-authors-log.yaml"
FROZEN_A = {"model.aux_prior": "standard_normal", "model.q_z_reads_a": False,
            "train.freeze": ["inference.q_a", "inference.q_a_head"]}
# slug -> (family, the one change, its settings); the order is the order of training
ROWS: dict[str, tuple[str, str, dict]] = {
    "adgm": ("adgm", "none", {}),
    "m2": ("m2", "none", {}),
    "sdgm": ("sdgm", "none", {}),
    "adgm-frozen-a": ("adgm", "q(a|x) frozen, p(a) = N(0, I), q(z|x,y) without a (the published run's model)",
                      FROZEN_A),
    "adgm-seed-1": ("adgm", "another labelled draw and initialisation (seed 1)", {"train.seed": 1}),
    "adgm-seed-2": ("adgm", "another labelled draw and initialisation (seed 2)", {"train.seed": 2}),
    "adgm-beta-0.1": ("adgm", "alpha from beta = 0.1 instead of 2", {"train.classification_weight": 0.1}),
    "adgm-binarize-epoch": ("adgm", "binarised once per epoch instead of every step",
                            {"data.binarize_every": "epoch"}),
    "adgm-no-clip": ("adgm", "no gradient clipping (neither norm nor element-wise)",
                     {"train.grad_clip": 0.0, "train.grad_clip_value": 0.0}),
    "adgm-sorted": ("adgm", "class-sorted unlabelled stream, never shuffled", {"train.unlabelled_order": "sorted"}),
    "adgm-samples-10": ("adgm", "10 samples of a and z (the authors' number)", {"train.eq_samples": 10}),
}
MODEL_KEYS = ("classes", "latent", "hidden", "activation", "observation", "batch_norm", "init")


def row_config(slug: str) -> dict:
    """The config of a row as a dict: the authors' training settings, the shared departures, the row's change."""
    family, _, change = ROWS[slug]
    raw = yaml.safe_load(AUTHORS.read_text())
    model = {"family": family, **{k: raw["model"][k] for k in MODEL_KEYS}}
    if family != "m2":
        model["auxiliary"] = raw["model"]["auxiliary"]
    raw["model"] = model
    raw["train"].update(freeze=[], unlabelled_order="shuffled", eq_samples=1)
    for key, value in change.items():
        section, name = key.split(".")
        raw[section][name] = value
    return raw


def _config_file(slug: str) -> Path:
    path = RUNS / f"{slug}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# mnist100 ablation row {slug}: {ROWS[slug][1]}\n" + yaml.safe_dump(row_config(slug)))
    return path


def _errors(slug: str) -> dict[int, dict]:
    """epoch -> the test error record of a row: from its run folder, or as the results file recorded it where
    that goes further (a row whose run folder was lost with its machine keeps its numbers)."""
    path = RUNS / slug / TEST_LOG
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    found, recorded = {r["epoch"]: r for r in rows}, _recorded_errors(slug)
    return recorded if max(recorded, default=0) > max(found, default=0) else found


def _recorded_errors(slug: str) -> dict[int, dict]:
    """epoch -> the test error of a row as results/mnist100_ablation.json holds it ({} if it holds none)."""
    results = RESULTS / "mnist100_ablation.json"
    recorded = json.loads(results.read_text()) if results.exists() else {"epoch": 0, "rows": []}
    row = next((r for r in recorded["rows"] if r["slug"] == slug), {})
    errors = {int(e): {"epoch": int(e), "error": v / 100, "train_seconds": row.get("seconds_per_epoch")}
              for e, v in row.get("test_error_per_epoch", {}).items()}
    if row.get("test_error_se") is not None and recorded["epoch"] in errors:
        errors[recorded["epoch"]]["error_se"] = row["test_error_se"] / 100
    return errors


def train(a: argparse.Namespace) -> None:
    for slug in a.only or ROWS:
        if a.epochs in _errors(slug) and not (RUNS / slug / TEST_LOG).exists():
            print(f"{slug}: epoch {a.epochs} is recorded in results/mnist100_ablation.json and its run folder is "
                  f"gone; left as recorded (delete its row there to train it again)")
            continue
        train_config(_config_file(slug), RUNS / slug, a.epochs, a.threads, a.data)


def _window(errors: dict[int, dict], epoch: int) -> float | None:
    """Mean test error (%) over epochs epoch-2..epoch+2 where all five are recorded (the curve jumps a point or
    two between epochs), else None."""
    values = [errors[e]["error"] for e in range(epoch - 2, epoch + 3) if e in errors]
    return 100 * sum(values) / 5 if len(values) == 5 else None


def collect(a: argparse.Namespace) -> None:
    rows, lines = [], []
    for slug, (family, change, settings) in ROWS.items():
        errors = _errors(slug)
        done = max(errors, default=0)
        at = errors.get(a.epochs)
        seconds = [e["train_seconds"] for e in errors.values() if e.get("train_seconds")]
        row = {"model": family, "change": change, "slug": slug, "settings": settings, "epochs_done": done,
               "test_error": None if at is None else 100 * at["error"],
               "test_error_se": None if at is None or "error_se" not in at else 100 * at["error_se"],
               "test_error_per_epoch": {e: 100 * r["error"] for e, r in sorted(errors.items())},
               "seconds_per_epoch": sum(seconds) / len(seconds) if seconds else None}
        rows.append(row)
        cell = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        curve = ", ".join(f"{e}: {100 * errors[e]['error']:.1f}" for e in (1, 5, 10, 15, 20, 30, 50) if e in errors)
        lines.append(f"| {family.upper()} | {change.replace('|', chr(92) + '|')} | {done} | {cell(row['test_error'])} | "
                     f"{cell(_window(errors, a.epochs - 2))} | {curve or '-'} | "
                     f"{cell(row['seconds_per_epoch']) if seconds else '-'} |")
    md = f"""{__doc__.split(chr(10) + chr(10))[2]}

Test error (%) at epoch {a.epochs}, the common epoch of the table; "-" where a row has not reached it yet (its
epochs done say where it stands; `python benchmarks/mnist100_ablation.py train` continues). Window: the mean over
epochs {a.epochs - 4}..{a.epochs}. s / epoch: training seconds per epoch, 1 thread, on the 2-core machine shared
with another 1-thread run.

| model | change | epochs done | test error at {a.epochs} (%) | mean {a.epochs - 4}..{a.epochs} (%) | test error at epoch 1, 5, 10, ... (%) | s / epoch |
| --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(lines)
    print(write_results("mnist100_ablation", {"epoch": a.epochs, "rows": rows}, md).read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["train", "collect"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", nargs="*", choices=sorted(ROWS), help="train these rows only, in this order")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    a = p.parse_args()
    {"train": train, "collect": collect}[a.action](a)


if __name__ == "__main__":
    run_script(main)
