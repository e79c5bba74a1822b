"""Half-moons: the authors' label placement with the settings of their training code, over three seeds.

    python benchmarks/adgm_moons_variants.py [--seeds 0 1 2] [--only SLUG ...]   # resumable: done runs are kept

Each variant is configs/adgm/moons.yaml with `data.labelled_choice=moon_points` (the training points nearest the
authors' six hand-placed labels: both ends and the apex of each moon, their data_loaders/half_moon.py:29-40) and
the changes listed, trained for the paper's 10 epochs; `best.pt` (lowest validation error) is scored on the 1e4
separate test points (`vaelab evaluate RUN --iw-samples 10`). Runs go to benchmarks/runs/moons-variants/SLUG-sSEED;
results to results/adgm_moons_variants.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, run_script, write_results  # noqa: E402

from vaelab.runs import evaluate_run, train_run  # noqa: E402
from vaelab.train import LAST  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs" / "moons-variants"
PRESET = ROOT / "configs" / "adgm" / "moons.yaml"
BASE = ["data.labelled_choice=moon_points", "train.threads=1", "train.progress=false"]
AUTHORS_STEP = ["train.eq_samples=10", "train.grad_clip=5", "train.grad_clip_value=1", "train.label_weights=authors"]
VARIANTS: dict[str, tuple[str, list[str]]] = {  # slug -> (what changes from the preset, overrides)
    "preset": ("none (labels at the authors' places)", []),
    "spread": ("labels from `spread` instead (the preset's choice)", ["data.labelled_choice=spread"]),
    "bn": ("batch-norm (the authors' SDGM code: batchnorm=True)", ["model.batch_norm=true"]),
    "bn-lr1e-3": ("batch-norm, lr 1e-3", ["model.batch_norm=true", "train.lr=0.001"]),
    "bn-beta2": ("batch-norm, beta 2", ["model.batch_norm=true", "train.classification_weight=2"]),
    "bn-authors-step": ("batch-norm, 10 samples, clipping 5 and +-1, the authors' label weights",
                        ["model.batch_norm=true", *AUTHORS_STEP]),
    "authors-step-beta2": ("10 samples, clipping 5 and +-1, the authors' label weights, beta 2",
                           [*AUTHORS_STEP, "train.classification_weight=2"]),
    "lr1e-3-beta2": ("lr 1e-3, beta 2", ["train.lr=0.001", "train.classification_weight=2"]),
    "bn-spread": ("batch-norm, labels from `spread`", ["model.batch_norm=true", "data.labelled_choice=spread"]),
    "bn-lr3e-3": ("batch-norm, lr 3e-3", ["model.batch_norm=true", "train.lr=0.003"]),
    "bn-lr3e-3-spread": ("batch-norm, lr 3e-3, labels from `spread`",
                         ["model.batch_norm=true", "train.lr=0.003", "data.labelled_choice=spread"]),
    "bn-lr1e-2": ("batch-norm, lr 1e-2", ["model.batch_norm=true", "train.lr=0.01"]),
    "bn-lr1e-3-samples10": ("batch-norm, lr 1e-3, 10 samples", ["model.batch_norm=true", "train.lr=0.001",
                                                               "train.eq_samples=10"]),
}


def run_one(slug: str, seed: int) -> dict:
    """Train (unless done) and score one variant and seed; the scores are kept in the run folder."""
    run = RUNS / f"{slug}-s{seed}"
    saved = run / "variant.json"
    if saved.is_file():
        return json.loads(saved.read_text())
    start = time.time()
    if not (run / LAST).exists():
        train_run(str(PRESET), run, [*BASE, f"train.seed={seed}", *VARIANTS[slug][1]])
    seconds = time.time() - start
    result = evaluate_run(run, "test", iw_samples=10, checkpoint="best", progress=False)
    row = {"slug": slug, "seed": seed, "test_error": 100 * result["error"], "test_error_se": 100 * result["error_se"],
           "best_epoch": result["epoch"], "train_seconds": seconds}
    saved.write_text(json.dumps(row))
    return row


def _rows() -> list[dict]:
    """Every run scored so far: the run folders' scores, and the recorded ones whose folder is gone."""
    found = {(r["slug"], r["seed"]): r for r in map(lambda f: json.loads(f.read_text()),
                                                    sorted(RUNS.glob("*/variant.json")))}
    recorded = RESULTS / "adgm_moons_variants.json"
    kept = json.loads(recorded.read_text())["rows"] if recorded.is_file() else []
    for r in kept:
        found.setdefault((r["slug"], r["seed"]), r)
    return sorted(found.values(), key=lambda r: (r["slug"], r["seed"]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="*", choices=sorted(VARIANTS))
    p.add_argument("--collect", action="store_true", help="train nothing: the results files from the runs done")
    a = p.parse_args()
    for slug in [] if a.collect else a.only or VARIANTS:
        for seed in a.seeds:
            run_one(slug, seed)
    rows = _rows()
    seeds = sorted({r["seed"] for r in rows})
    lines = []
    for slug, (change, overrides) in VARIANTS.items():
        mine = [r for r in rows if r["slug"] == slug]
        if not mine:
            continue
        errors = [r["test_error"] for r in mine]
        by_seed = {r["seed"]: r["test_error"] for r in mine}
        cells = " | ".join("-" if s not in by_seed else f"{by_seed[s]:.2f}" for s in seeds)
        lines.append(f"| {change} | {cells} | {min(errors):.2f} | {sum(errors) / len(errors):.2f} |")
    heads = " | ".join(f"seed {s}" for s in seeds)
    md = f"""{__doc__.split(chr(10) + chr(10))[2]}

Test error (%) of `best.pt` after 10 epochs. Paper: close to 0% within 10 epochs.

| change from the preset | {heads} | best | mean |
| --- | {' | '.join('---' for _ in seeds)} | --- | --- |
""" + "\n".join(lines)
    print(write_results("adgm_moons_variants", {"rows": rows}, md).read_text())


if __name__ == "__main__":
    run_script(main)
