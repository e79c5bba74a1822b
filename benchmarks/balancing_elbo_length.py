"""Benchmark: the Balancing-ELBO decoders at a chosen length (paper Tables 2-3), resumable.

Trains sigma^2 = 1/2, sigma^2 = 1, the closed-form global sigma^2 and the two-stage per-pixel sigma^2(z) with
each floor rule (model.pixel_var_floor) on Fashion-MNIST and MNIST to --epochs (default 200), then evaluates
each run with benchmarks/balancing_elbo.py's functions: ELBO and L_20 on the first 500 test images, L_5000 on
the first --big-k-limit of them, KL(aggregate || prior) and fd_classifier of prior and aggregate samples.

    VAELAB_DATA=../shared/datasets OMP_NUM_THREADS=1 PYTHONPATH=src \
        python benchmarks/balancing_elbo_length.py [run|collect] [--datasets fashion-mnist mnist] [--epochs 200]

run: start or continue the selected runs (folders under benchmarks/runs/balancing-elbo-length/), evaluate
them and write benchmarks/results/balancing_elbo_length.{json,md}; the same command with a larger --epochs
continues them. collect: write the results from every run that exists, at whatever epoch it stands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from balancing_elbo import BETA, GLOBAL, PAPER, PIXEL, VAE, VARIANTS, base_overrides, train_variant, variant_row  # noqa: E402,E501
from common import run_script, write_results  # noqa: E402
from snapshots import restore  # noqa: E402

from vaelab.train import LAST  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs" / "balancing-elbo-length"
NAME = "balancing_elbo_length"
# short decoder name -> (folder name, the name of balancing_elbo.py's VARIANTS and PAPER)
DECODERS = {"sigma^2 = 1/2": ("vae", VAE), "sigma^2 = 1": ("beta-vae", BETA),
            "closed-form global": ("closed-form", GLOBAL), "two-stage per-pixel": ("two-stage", PIXEL)}
FLOOR_RULES = ("global", "fraction", "fixed", "none")


def floor_overrides(rule: str, a: argparse.Namespace) -> tuple[str, list[str]]:
    """(folder suffix, model overrides) of one floor rule of the two-stage head."""
    table = {  # rule -> (its number, its overrides); none also lowers the numerical floor to --none-floor
        "global": (None, []),
        "fraction": (a.fraction, ["model.pixel_var_floor=fraction", f"model.pixel_var_floor_value={a.fraction}"]),
        "fixed": (a.fixed, ["model.pixel_var_floor=fixed", f"model.pixel_var_floor_value={a.fixed}"]),
        "none": (a.none_floor, ["model.pixel_var_floor=none", f"model.obs_var_floor={a.none_floor}"]),
    }
    value, overrides = table[rule]
    return (rule if value is None else f"{rule}-{value:g}"), overrides


def planned(a: argparse.Namespace) -> list[tuple[Path, dict, list[str]]]:
    """(folder, description, overrides) of every run the arguments select."""
    out = []
    for dataset in a.datasets:
        data = dataset + ("-dequantized" if a.dequantize else "")
        base = base_overrides(dataset, a.epochs, a.stage_one_max) + [f"data.dequantize={str(a.dequantize).lower()}"]
        for decoder in a.decoders:
            slug, variant = DECODERS[decoder]
            rules = a.floors if decoder == "two-stage per-pixel" else [None]
            for rule in rules:
                suffix, extra = floor_overrides(rule, a) if rule else ("", [])
                about = {"dataset": dataset, "decoder": decoder, "floor": suffix or None, "dequantize": a.dequantize}
                out.append((RUNS / data / "-".join(filter(None, [slug, suffix])), about, base + VARIANTS[variant] + extra))
    return out


def row(folder: Path, about: dict, big_k_limit: int) -> dict:
    """One results row: the run's description, then its evaluation under short names."""
    r = variant_row(folder, big_k_limit)
    paper = PAPER[about["dataset"]][DECODERS[about["decoder"]][1]]
    return {**about, "epochs": r["epochs"], "best_epoch": r["best_epoch"],
            "stage_switch_epoch": r["stage_switch_epoch"], "sigma2": r["final_obs_variance"],
            "L20": r["ll_k20_500"], "L20_se": r["ll_k20_500_se"], "ELBO": r["elbo_500"],
            "L20_aggregate_prior": r["ll_k20_500_aggregate_prior"],
            "L5000": r[f"ll_k5000_{big_k_limit}"], "L5000_n": big_k_limit, f"L20_first_{big_k_limit}": r[f"ll_k20_{big_k_limit}"],
            "KL_aggregate_prior": r["kl_aggregate_prior"], "fd_prior": r["fd_classifier"]["prior"],
            "fd_aggregate": r["fd_classifier"]["aggregate"], "train_seconds": r["train_seconds"],
            "paper_L20_prior": paper[0], "paper_L20_aggregate": paper[1], "paper_fid": paper[2],
            "run_dir": r["run_dir"]}


def existing_runs() -> list[tuple[Path, dict]]:
    """Every run folder with a checkpoint and its variant.json."""
    return [(p.parent, json.loads(p.read_text())) for p in sorted(RUNS.glob("*/*/variant.json"))
            if (p.parent / LAST).exists()]


def fmt(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(rows: list[dict], note: str) -> str:
    lines = ["| data | decoder | floor | epochs (best) | switch | sigma^2 (floor) | ELBO | L_20 (500) | L_5000 (n) "
             "| KL(agg ‖ prior) | fd prior | fd agg. | paper L_20 prior / agg. | paper FID | training (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        data = r["dataset"] + (" (dequantised)" if r["dequantize"] else "")
        paper = "–" if r["paper_L20_prior"] is None else f"{r['paper_L20_prior']} / {r['paper_L20_aggregate']}"
        lines.append(f"| {data} | {r['decoder']} | {r['floor'] or '–'} | {r['epochs']} ({r['best_epoch']}) | "
                     f"{r['stage_switch_epoch'] or '–'} | {r['sigma2']:.3g} | {fmt(r['ELBO'])} | {fmt(r['L20'])} ± "
                     f"{fmt(r['L20_se'])} | {fmt(r['L5000'])} ({r['L5000_n']}) | {fmt(r['KL_aggregate_prior'], 2)} | "
                     f"{fmt(r['fd_prior'], 2)} | {fmt(r['fd_aggregate'], 2)} | {paper} | {fmt(r['paper_fid'])} | "
                     f"{fmt(r['train_seconds'], 0)} |")
    return "\n".join(lines) + "\n\n" + note


NOTE = """Each row states the epochs its run has reached (and the epoch of the best checkpoint, chosen on 1,000
held-out training images, which the evaluation uses); runs continue to the paper-like length with the same
command and a larger `--epochs` (default 200), and `collect` rewrites this file from the runs as they stand.
Rows may come from several calls (other --decoders, --floors, --dequantize; the command above is the last one);
the calls of the committed rows are listed in docs/papers/balancing-elbo.md, and each run folder keeps its config.
Schedule: VAE, latent 16, MLP 784-512-512-16 / 16-512-512-784, leaky ReLU, no batch-norm, Adam lr 1e-3, batch
128, pixel values in [0, 1] as real values; two-stage: stage one ends after 2 epochs without 0.1% ELBO gain or at
its cap (`--stage-one-max`); floors: `global` sigma*^2 (the paper's rule), `fraction-F` F x sigma*^2,
`fixed-V` V, `none-V` only the numerical floor model.obs_var_floor = V (see docs/papers/balancing-elbo.md).
The paper's fixed-variance columns are negative log-likelihoods printed without their sign (read -463 and -731,
see balancing_elbo.md); its FID column is not comparable to fd_classifier (vaelab's own classifier features).
Training time: wall-clock, 1 thread, on a 2-core machine shared with other jobs."""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", nargs="?", default="run", choices=["run", "collect"],
                    help="run: train and evaluate the selected runs; collect: results from every existing run")
    ap.add_argument("--datasets", nargs="+", default=["fashion-mnist", "mnist"], choices=sorted(PAPER),
                    help="data sets to train on")
    ap.add_argument("--decoders", nargs="+", default=list(DECODERS), choices=list(DECODERS), help="decoder variants")
    ap.add_argument("--floors", nargs="+", default=list(FLOOR_RULES), choices=FLOOR_RULES,
                    help="floor rules of the two-stage per-pixel variance")
    ap.add_argument("--epochs", type=int, default=200, help="train (or continue) every run to this many epochs")
    ap.add_argument("--stage-one-max", type=int, default=50, help="cap on the epochs of stage one (new runs only)")
    ap.add_argument("--fraction", type=float, default=0.1, help="the fraction of sigma*^2 of the rule fraction")
    ap.add_argument("--fixed", type=float, default=1e-4, help="the variance of the rule fixed")
    ap.add_argument("--none-floor", type=float, default=1e-10, help="model.obs_var_floor of the rule none")
    ap.add_argument("--dequantize", action="store_true", help="dequantised pixels (data.dequantize), own folders")
    ap.add_argument("--big-k-limit", type=int, default=500, help="test images for L_5000 (a multiple of 100)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    results = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
    old = {r["run_dir"]: r for r in json.loads(results.read_text())["rows"]} if results.exists() else {}
    if a.action == "run":
        for folder, about, overrides in planned(a):
            restore(folder)  # a run folder lost with its machine continues from its snapshot
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "variant.json").write_text(json.dumps(about, indent=2))
            train_variant(folder, overrides)
            new = row(folder, about, a.big_k_limit)
            old[new["run_dir"]] = new
            print(json.dumps(new), flush=True)
            write(list(old.values()))
    else:
        write([row(folder, about, a.big_k_limit) for folder, about in existing_runs()])


def write(rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: (r["dataset"], r["dequantize"], list(DECODERS).index(r["decoder"]),
                                       r["floor"] or ""))
    write_results(NAME, {"rows": rows}, markdown(rows, NOTE))


if __name__ == "__main__":
    run_script(main)
