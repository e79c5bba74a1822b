"""LVAE paper at full length: LVAE+BN+WU and VAE+BN+WU, 5 layers, 2000 epochs, on all 60,000 MNIST images.

    python benchmarks/lvae_paper_length.py train lvae     # resumable; cut it any time and run it again
    python benchmarks/lvae_paper_length.py train vae      # (one thread each, side by side)
    python benchmarks/lvae_paper_length.py status         # results file: where each run stands
    python benchmarks/lvae_paper_length.py evaluate lvae  # last checkpoint: L_1 and L_5000 on all 10,000 test images
    python benchmarks/lvae_paper_length.py collect        # results/lvae_mnist_paper_length.{json,md}

The paper's settings (section 3): the presets configs/lvae/mnist-{lvae,vae}-bn-wu-5layer.yaml (Adam lr 1e-3,
batch 256, warm-up N_t = 200, 1 Monte Carlo and 1 importance sample, re-binarised every epoch) with
data.validation=0, so that all 60,000 training images are trained on as in the paper, and train.compile=true.
`train` runs `vaelab train` in a child process and records (time, epochs done) every minute in
RUN/wall.jsonl, so the results file can state the measured seconds per epoch and project the rest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write_results  # noqa: E402
from snapshots import epochs_done, restore  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
CONFIGS = {"lvae": "configs/lvae/mnist-lvae-bn-wu-5layer.yaml", "vae": "configs/lvae/mnist-vae-bn-wu-5layer.yaml"}
NAMES = {"lvae": "lvae-bn-wu-5", "vae": "vae-bn-wu-5"}
PAPER = {  # LVAE paper, 2000 epochs: test L_1 (Fig. 3) and L_5000 (Table 1 / Fig. 3)
    "lvae": {"elbo": -85.23, "log_likelihood": -82.12, "note": "LVAE+BN+WU 5 layers (fine-tuned: -81.74)"},
    "vae": {"elbo": -87.49, "log_likelihood": -82.74, "note": "best VAE+BN+WU (Table 1)"},
}
WALL = "wall.jsonl"
MILESTONES = (1, 10, 50, 100, 200, 300, 500, 750, 1000, 1250, 1500, 1750, 2000)
FIGURE = "lvae_mnist_paper_length.png"
EVAL_K = 5000


def _run(model: str) -> Path:
    return RUNS / f"{model}5-paper-length"


def train(a: argparse.Namespace) -> None:
    """Start or resume the run in a child process; sample its progress every minute into RUN/wall.jsonl."""
    run = _run(a.model)
    restore(run)  # a run folder lost with its machine continues from its snapshot
    cli = [sys.executable, "-m", "vaelab.cli", "train"]
    sets = [f"train.epochs={a.epochs}", f"train.threads={a.threads}", "train.progress=false", "train.compile=true"]
    if (run / "checkpoint.pt").exists():
        cmd = [*cli, "--resume", str(run)]
    else:
        cmd = [*cli, str(ROOT / CONFIGS[a.model]), "--run-dir", str(run), "--set", "data.validation=0",
               "--set", f"data.root={a.data}"]
    cmd += [x for s in sets for x in ("--set", s)]
    run.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen(cmd)
    try:
        while child.poll() is None:
            with (run / WALL).open("a") as f:
                f.write(json.dumps({"time": time.time(), "epochs": epochs_done(run), "threads": a.threads}) + "\n")
            for _ in range(60):
                if child.poll() is not None:
                    break
                time.sleep(1)
    finally:
        if child.poll() is None:
            child.terminate()
    sys.exit(child.returncode)


def seconds_per_epoch(run: Path) -> float | None:
    """Median wall seconds per epoch over RUN/wall.jsonl: consecutive samples are pooled until an epoch has
    finished, and a gap of over 10 minutes (the run was cut) starts a new pool. None before an epoch finishes."""
    path = run / WALL
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    rates, start = [], None
    for prev, row in zip(rows, rows[1:]):
        if row["time"] - prev["time"] > 600:
            start = None
            continue
        start = prev if start is None else start
        if row["epochs"] > start["epochs"]:
            rates.append((row["time"] - start["time"]) / (row["epochs"] - start["epochs"]))
            start = None
    return sorted(rates)[len(rates) // 2] if rates else None


def _running(run: Path) -> bool:
    """Whether the run's `train` wrote a progress sample in the last five minutes."""
    path = run / WALL
    lines = path.read_text().splitlines() if path.exists() else []
    return bool(lines) and time.time() - json.loads(lines[-1])["time"] < 300


def evaluate(a: argparse.Namespace) -> None:
    """L_1 (with KL per layer and active units) and L_5000 on all 10,000 test images, last checkpoint."""
    from vaelab.runs import evaluate_run

    run = _run(a.model)
    if not (run / "eval-test-K1.json").exists():
        evaluate_run(run, "test", iw_samples=1, checkpoint="last", progress=False)
    evaluate_run(run, "test", iw_samples=EVAL_K, checkpoint="last", progress=False,
                 overrides=["eval.compile=true"])


def _row(model: str, target: int) -> dict:
    run = _run(model)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()] \
        if (run / "metrics.jsonl").exists() else []
    done = len(records)
    rate = seconds_per_epoch(run)
    row = {"name": NAMES[model], "epochs": done, "target_epochs": target, "n": None, "iw_samples": EVAL_K,
           "log_likelihood": None, "elbo": None, "paper": PAPER[model],
           "train_elbo_last_epoch": records[-1]["train_elbo"] if records else None,
           "train_elbo_curve": {r["epoch"]: r["train_elbo"] for r in records
                                if r["epoch"] in (1, 10) or r["epoch"] % 50 == 0 or r["epoch"] == done},
           "seconds_per_epoch": rate,
           "projected_hours_left": None if rate is None else rate * (target - done) / 3600}
    k1, kk = run / "eval-test-K1.json", run / f"eval-test-K{EVAL_K}.json"
    if kk.exists() and k1.exists():
        l1, lk = json.loads(k1.read_text()), json.loads(kk.read_text())
        row.update(n=lk["n"], log_likelihood=lk["log_likelihood"], log_likelihood_se=lk["log_likelihood_se"],
                   elbo=l1["elbo"], elbo_se=l1["elbo_se"], evaluated_epoch=lk["epoch"],
                   kl_per_layer=l1["kl_per_layer"], active_units=l1.get("active_units_kl"))
    return row


def _cell(value: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if value is None else fmt.format(value)


def collect(a: argparse.Namespace) -> None:
    rows = [_row(m, a.epochs) for m in ("lvae", "vae")]
    lines = []
    for m, r in zip(("lvae", "vae"), rows):
        state = "evaluated" if r["log_likelihood"] is not None else (
            "finished, not evaluated" if r["epochs"] >= r["target_epochs"] else
            "training" if _running(_run(m)) else "paused (resumable)")
        lines.append(f"| {r['name']} | {r['epochs']} / {r['target_epochs']} | {state} | "
                     f"{_cell(r['train_elbo_last_epoch'])} | {_cell(r['elbo'])} | {_cell(r['log_likelihood'])} | "
                     f"{PAPER[m]['elbo']} / {PAPER[m]['log_likelihood']} | {_cell(r['seconds_per_epoch'], '{:.1f}')} | "
                     f"{_cell(r['projected_hours_left'], '{:.1f}')} |")
    curves = _curves()
    table = _milestones(curves, rows)
    md = """The LVAE paper's schedule (section 3): 5 stochastic layers, batch-norm, warm-up over N_t = 200 epochs,
Adam lr 1e-3, batch 256, 1 Monte Carlo and 1 importance sample, 2000 epochs, all 60,000 training images
(data.validation=0), re-binarised every epoch; compiled steps, 1 thread per model, on the 2-core machine
shared with other jobs (so the seconds per epoch vary with the load). The last checkpoint is evaluated: L_1 and L_5000 on all
10,000 test images, batch-norm statistics recomputed over the training set. Seconds per epoch: the median of
the wall time between finished epochs sampled once a minute (RUN/wall.jsonl); hours left = that rate times the
epochs left. Runs resume with the same command (`python benchmarks/lvae_paper_length.py train MODEL`).

| model | epochs done | state | train ELBO (last epoch) | test L_1 | test L_5000 | paper L_1 / L_5000 | s / epoch | hours left |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(lines) + f"""

Train L_1 at chosen epochs: the true ELBO (beta = 1, also during warm-up) averaged over each epoch's
steps on the 60,000 training images (batch statistics in training mode), and the gap LVAE minus VAE. The paper's Fig. 2
draws the same curves (one importance sample, train and test): the LVAE above the VAE throughout, both
still rising slowly at 2000 epochs. Figure: `{FIGURE}` (log epoch axis).

{table}"""
    if curves:
        from vaelab.evaluation.figures import plot_compared

        plot_compared(curves, "train_elbo", RESULTS / FIGURE, "MNIST, 5 stochastic layers: train L_1 per epoch",
                      "nats per example", ylim=(-130, -80))
    print(write_results("lvae_mnist_paper_length", {"models": rows}, md).read_text())


def _curves() -> dict[str, list[dict]]:
    """{model name: that run's per-epoch records (epoch and train ELBO only)}, for the runs begun."""
    out = {}
    for m in ("lvae", "vae"):
        path = _run(m) / "metrics.jsonl"
        if path.exists():
            out[NAMES[m]] = [{"epoch": r["epoch"], "train_elbo": r["train_elbo"]}
                             for r in map(json.loads, path.read_text().splitlines())]
    return out


def _milestones(curves: dict[str, list[dict]], rows: list[dict]) -> str:
    """Markdown: the train ELBO of each run at MILESTONES (and its last epoch), and LVAE minus VAE."""
    at = {name: {r["epoch"]: r["train_elbo"] for r in records} for name, records in curves.items()}
    last = [r["epochs"] for r in rows if r["epochs"]]
    epochs = sorted({e for e in MILESTONES if any(e in a for a in at.values())} | set(last))
    lvae, vae = at.get(NAMES["lvae"], {}), at.get(NAMES["vae"], {})
    lines = ["| epoch | " + " | ".join(NAMES.values()) + " | LVAE - VAE |", "| --- | --- | --- | --- |"]
    for e in epochs:
        gap = lvae[e] - vae[e] if e in lvae and e in vae else None
        lines.append(f"| {e} | {_cell(lvae.get(e))} | {_cell(vae.get(e))} | {_cell(gap, '{:+.2f}')} |")
    return "\n".join(lines)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["train", "evaluate", "status", "collect"])
    p.add_argument("model", nargs="?", choices=sorted(CONFIGS))
    p.add_argument("--epochs", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "mnist"))
    a = p.parse_args()
    if a.action in ("train", "evaluate") and a.model is None:
        p.error(f"{a.action} needs a model: lvae or vae")
    return a


if __name__ == "__main__":
    args = _args()
    {"train": train, "evaluate": evaluate, "status": collect, "collect": collect}[args.action](args)
