"""LVAE paper on real MNIST, reduced schedule: VAE+BN+WU vs LVAE+BN+WU with 5 layers, L_1 and L_5000 on test.

    python benchmarks/lvae_mnist.py train lvae      # train one model (resumable; run both in parallel)
    python benchmarks/lvae_mnist.py train vae
    python benchmarks/lvae_mnist.py evaluate lvae   # L_1 (whole test set) and L_5000 (first --limit images)
    python benchmarks/lvae_mnist.py evaluate vae
    python benchmarks/lvae_mnist.py collect         # write results/lvae_mnist.{json,md}
    python benchmarks/lvae_mnist.py full-test lvae --threads 0 --compile
                                     # L_5000 on all 10,000 test images, timed -> results/lvae_mnist_full_test.*

Options: --epochs, --warmup, --iw-samples, --limit (test examples for L_K), --threads, --data.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results  # noqa: E402

from vaelab.runs import evaluate_run, train_run  # noqa: E402
from vaelab.train import LAST  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
CONFIGS = {"vae": "configs/lvae/mnist-vae-bn-wu-5layer.yaml", "lvae": "configs/lvae/mnist-lvae-bn-wu-5layer.yaml"}
PAPER = {  # LVAE paper, 2000 epochs (Fig. 3 / Table 1): test L_1, L_5000
    "vae": (-87.49, -82.74, "best VAE (3 layers; Fig. 3)"),
    "lvae": (-85.23, -82.12, "LVAE+BN+WU 5 layers"),
}


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["train", "evaluate", "collect", "full-test"])
    p.add_argument("model", nargs="?", choices=sorted(CONFIGS))
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iw-samples", type=int, default=5000)
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (0: torch's default)")
    p.add_argument("--compile", action="store_true", help="full-test: eval.compile=true")
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    return p.parse_args()


def train(a: argparse.Namespace) -> None:
    run = RUNS / f"lvae_mnist_{a.model}"
    sets = [f"train.epochs={a.epochs}", f"train.threads={a.threads}", "train.progress=false"]
    if (run / LAST).exists():
        train_run(None, run, sets, resume=True)
    else:
        train_run(str(ROOT / CONFIGS[a.model]), run, sets + [f"train.warmup_epochs={a.warmup}", f"data.root={a.data}"])


def evaluate(a: argparse.Namespace) -> None:
    """L_1 on the whole test set, then L_K (and its subset's L_1) on the first `limit` test images."""
    torch.set_num_threads(a.threads)
    run = RUNS / f"lvae_mnist_{a.model}"
    if not (run / "eval-test-K1.json").exists():
        evaluate_run(run, "test", iw_samples=1, checkpoint="last", progress=False)  # -> eval-test-K1.json
    evaluate_run(run, "test", iw_samples=a.iw_samples, checkpoint="last", limit=a.limit, progress=False)


def collect(a: argparse.Namespace) -> None:
    rows, figures = [], {"schedule": {"epochs": None, "warmup_epochs": a.warmup, "batch_size": 256, "lr": 1e-3},
                         "iw_samples": a.iw_samples, "ll_examples": a.limit, "models": {}}
    for key in ("vae", "lvae"):
        run = RUNS / f"lvae_mnist_{key}"
        l1 = json.loads((run / "eval-test-K1.json").read_text())
        lk = json.loads((run / f"eval-test-K{a.iw_samples}.json").read_text())
        epoch = figures["schedule"]["epochs"] = l1["epoch"]
        figures["models"][key] = {"epochs": epoch, "L1_test": l1["elbo"], "L1_test_se": l1["elbo_se"],
                                  "L1_subset": lk["elbo"], f"L{a.iw_samples}_subset": lk["log_likelihood"],
                                  f"L{a.iw_samples}_subset_se": lk["log_likelihood_se"], "subset_n": lk["n"],
                                  "seconds_LK": lk["seconds"], "active_units": l1["active_units"],
                                  "active_units_kl": l1.get("active_units_kl"), "kl_per_layer": l1["kl_per_layer"]}
        p1, pk, what = PAPER[key]
        kl = ", ".join(f"{v:.1f}" for v in l1["kl_per_layer"].values())
        rows.append(f"| {key.upper()}+BN+WU 5 layers | {epoch} | {l1['elbo']:.2f} ± {l1['elbo_se']:.2f} | "
                    f"{lk['elbo']:.2f} | {lk['log_likelihood']:.2f} ± {lk['log_likelihood_se']:.2f} | "
                    f"{p1} / {pk} ({what}) | {kl} | {l1.get('active_units_kl')} |")
    md = f"""Reduced schedule: {epoch} epochs, linear warm-up over {a.warmup} epochs, Adam lr 1e-3, batch 256,
1 Monte Carlo and 1 importance sample; 59,000 training images (1,000 held out for validation); the *last*
checkpoint is evaluated, batch-norm statistics recomputed over the training set. L_1 on all 10,000 test images;
L_{a.iw_samples} on the first {lk['n']} test images (the L_1 of that subset beside it). The paper trains 2000
epochs with N_t = 200. Training ran with 1 thread per model while other jobs shared the 2 cores.
The bottom-up VAE uses the Monte Carlo KL for layers 1..L-1 (their prior's parent z_(i+1) is drawn after z_i, so
the closed form at that sample is not an unbiased estimate) and the closed form for the top layer; the LVAE uses
the closed form everywhere (its parents are drawn first).

| model | epochs | test L_1 (10k) | L_1 (subset) | L_{a.iw_samples} (subset) | paper L_1 / L_5000 (2000 epochs) | KL per layer z1..z5 | units with KL > 0.01 |
| --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows)
    print(write_results("lvae_mnist", figures, md).read_text())


def full_test(a: argparse.Namespace) -> None:
    """L_K on the whole test set with the eval defaults (100 examples x 250 samples per chunk): wall time, memory."""
    if a.threads:
        torch.set_num_threads(a.threads)
    run = RUNS / f"lvae_mnist_{a.model}"
    sets = [f"eval.compile={str(a.compile).lower()}", "eval.device=cpu"]
    r = evaluate_run(run, "test", iw_samples=a.iw_samples, checkpoint="last", progress=False, overrides=sets)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p1, pk, what = PAPER[a.model]
    figures = {"model": a.model, "epochs": r["epoch"], "n": r["n"], "iw_samples": r["iw_samples"],
               "log_likelihood": r["log_likelihood"], "log_likelihood_se": r["log_likelihood_se"],
               "elbo": r["elbo"], "seconds": r["seconds"], "peak_rss_mib": rss, "settings": sets,
               "threads": torch.get_num_threads()}
    md = f"""{a.model.upper()}+BN+WU 5 layers of lvae_mnist.md ({r['epoch']} epochs, last checkpoint), `vaelab evaluate` on all
{r['n']:,} MNIST test images with K = {r['iw_samples']}, the eval defaults (100 examples x 250 importance samples
per chunk), {' '.join(sets)}, {torch.get_num_threads()} thread(s), nothing else running.

| quantity | value |
| --- | --- |
| test L_{r['iw_samples']} (all {r['n']:,} images) | {r['log_likelihood']:.2f} ± {r['log_likelihood_se']:.2f} nats |
| test L_1 (ELBO) | {r['elbo']:.2f} ± {r['elbo_se']:.2f} nats |
| paper, 2000 epochs: L_1 / L_5000 | {p1} / {pk} ({what}) |
| wall time of the L_1 pass and L_{r['iw_samples']} (after loading and batch-norm statistics) | {r['seconds'] / 60:.1f} min |
| peak resident memory of the process | {rss:.0f} MiB |
"""
    print(write_results("lvae_mnist_full_test", figures, md).read_text())


if __name__ == "__main__":
    args = _args()
    {"train": train, "evaluate": evaluate, "collect": collect, "full-test": full_test}[args.action](args)
