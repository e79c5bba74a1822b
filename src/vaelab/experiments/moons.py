"""The two half-moons experiment (ADGM section 4.2, Fig. 2c-d): the ADGM versus the same model without a.

Trains the config (an ADGM on `moons`) and its twin without the auxiliary variable (family m2, the same
networks), each an ordinary run folder under OUT (resumed if already there), evaluates both on the separate
test set and draws: validation error per epoch, the decision boundary of each model with the labelled points,
and the first two principal components of the ADGM's auxiliary space (means of q(a|x) on test points).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from vaelab.config import apply_overrides, load_config
from vaelab.models.semisupervised import class_probabilities
from vaelab.runs import LABELLED_FILE, RunError, evaluate_run, load_run, train_or_resume
from vaelab.train import read_metrics

RUNS = ("adgm", "no-aux")


def _twin_config(config_path: Path, overrides: list[str], out: Path) -> Path:
    """The same config without the auxiliary variable: family m2, `auxiliary` removed."""
    raw = apply_overrides(yaml.safe_load(config_path.read_text()), overrides)
    raw["model"] = {k: v for k, v in raw["model"].items() if k != "auxiliary"} | {"family": "m2"}
    path = out / "no-aux.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_moons(config_path: str | Path, out_dir: str | Path, overrides: list[str] | tuple[str, ...] = (),
              twin_epochs: int | None = None) -> dict:
    """Train, evaluate and draw; returns (and writes to OUT/moons.json) the errors per epoch and on test.

    twin_epochs: train the model without a for this many epochs instead of the config's (the paper: it needs
    more than 100 where the ADGM needs 10).
    """
    config_path, out = Path(config_path), Path(out_dir)
    overrides = list(overrides)
    if load_config(config_path, overrides).model.family != "adgm":
        raise RunError(f"{config_path}: the moons experiment compares an adgm with its twin without a; "
                       f"give an adgm config such as configs/adgm/moons.yaml")
    out.mkdir(parents=True, exist_ok=True)
    configs = {"adgm": config_path, "no-aux": _twin_config(config_path, overrides, out)}
    summary: dict[str, Any] = {}
    extra = {"adgm": [], "no-aux": [] if twin_epochs is None else [f"train.epochs={twin_epochs}"]}
    for name in RUNS:
        train_or_resume(configs[name], out / name, [*overrides, *extra[name], "train.progress=false"])
        result = evaluate_run(out / name, checkpoint="last", progress=False)
        metrics = read_metrics(out / name / "metrics.jsonl")
        summary[name] = {"val_error": [r["val_error"] for r in metrics], "test_error": result["error"],
                         "test_error_se": result["error_se"], "epochs": len(metrics)}
    plot_moons(out, out / "moons.png")
    (out / "moons.json").write_text(json.dumps(summary, indent=2))
    return summary


def _boundary(ax, run_dir: Path, title: str) -> None:
    """Class probability on a grid, test points by predicted class, labelled points in black."""
    config, model, splits, _ = load_run(run_dir, "last")
    xx, yy = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-1.5, 2, 160))
    grid = torch.tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)
    p1 = class_probabilities(model, grid, config.eval.classify_samples)[:, 1].reshape(xx.shape)
    ax.contourf(xx, yy, p1.numpy(), levels=20, cmap="coolwarm", alpha=0.6)
    x = splits.test[:2000]
    pred = class_probabilities(model, x, config.eval.classify_samples).argmax(1)
    ax.scatter(x[:, 0], x[:, 1], c=pred.numpy(), cmap="coolwarm", s=2)
    index = json.loads((run_dir / LABELLED_FILE).read_text())["index_in_training_split"]
    ax.scatter(splits.train[index, 0], splits.train[index, 1], c=splits.train_labels[index].numpy(), cmap="coolwarm",
               s=60, edgecolors="black", linewidths=1.5)  # the labelled points, filled with their class
    ax.set_title(title, fontsize=9)


def plot_moons(out: Path, path: Path) -> None:
    """Error per epoch, both decision boundaries, PCA of the ADGM's auxiliary space."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    for name in RUNS:
        errors = [r["val_error"] for r in read_metrics(out / name / "metrics.jsonl")]
        axes[0].plot(range(1, len(errors) + 1), [100 * e for e in errors], marker="o", ms=3, label=name)
    axes[0].set(xlabel="epoch", ylabel="validation error %", title="error per epoch")
    axes[0].legend()
    _boundary(axes[1], out / "adgm", "ADGM: decision boundary (Fig. 2c)")
    _boundary(axes[2], out / "no-aux", "same model without a (M2)")
    _, model, splits, _ = load_run(out / "adgm", "last")
    a = model.auxiliary_mean(splits.test[:2000]).numpy()
    pcs = PCA(2).fit_transform(a)
    axes[3].scatter(pcs[:, 0], pcs[:, 1], c=splits.test_labels[:2000].numpy(), cmap="coolwarm", s=2)
    axes[3].set_title("ADGM: PCA of E[a|x] (Fig. 2d)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
