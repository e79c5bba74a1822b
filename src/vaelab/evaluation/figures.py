"""Figures of a run, drawn with matplotlib from plain data: metrics records, KL values, latent samples.

Each function writes one PNG and returns its path. They follow the LVAE paper's figures: learning curves
(Fig. 2), the KL of every unit over epochs (Fig. 4), the KL per layer (Fig. 5) and PCA of latent samples
coloured by class (Fig. 6). Figures are built on matplotlib.figure.Figure, never pyplot, so no global state
is touched. `records` are the dicts of metrics.jsonl, one per epoch.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.decomposition import PCA

from vaelab.files import atomic_write

Records = Sequence[dict[str, Any]]
KL_FLOOR = 1e-4  # nats; smaller KLs are drawn at the floor on log scales
DPI = 100


def series(records: Records, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, values) of a scalar metric over the records that hold a finite value for it."""
    pairs = [(r["epoch"], r[key]) for r in records
             if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    if not pairs:
        return np.zeros(0), np.zeros(0)
    epochs, values = zip(*pairs)
    return np.asarray(epochs), np.asarray(values, dtype=float)


def nested_series(records: Records, key: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (epochs, values)} of a metric stored per layer, e.g. val_kl_per_layer; values may be (E, D)."""
    names = list(dict.fromkeys(n for r in records for n in (r.get(key) or {})))
    out = {}
    for name in names:
        rows = [(r["epoch"], r[key][name]) for r in records if name in (r.get(key) or {})]
        epochs, values = zip(*rows)
        out[name] = (np.asarray(epochs), np.asarray(values, dtype=float))
    return out


def _save(fig: Figure, path: str | Path) -> Path:
    for ax in fig.axes:
        if ax.get_xlabel() == "epoch" and ax.get_xscale() == "linear":  # no ticks between epochs on short runs
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    suffix = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda f: fig.savefig(f, dpi=DPI, bbox_inches="tight", format=suffix))


def _robust_ylim(ax: Any, values: list[np.ndarray]) -> None:
    """Leave out the first epochs' far-off values so later differences stay visible (as in LVAE Fig. 2)."""
    tails = [v[len(v) // 10:] for v in values if len(v) > 20]
    if tails:
        low = min(np.percentile(t, 1) for t in tails)
        high = max(t.max() for t in tails)
        pad = 0.05 * (high - low) or 1.0
        ax.set_ylim(low - pad, high + pad)


def plot_learning_curves(records: Records, path: str | Path) -> Path:
    """Train and validation L_1 per epoch (LVAE Fig. 2), and the reconstruction and KL terms."""
    fig = Figure(figsize=(11, 4))
    ax_bound, ax_terms = fig.subplots(1, 2)
    drawn = []
    for key, label in (("train_elbo", "train"), ("val_elbo", "validation")):
        epochs, values = series(records, key)
        if len(values):
            ax_bound.plot(epochs, values, label=label)
            drawn.append(values)
    _robust_ylim(ax_bound, drawn)
    ax_bound.set(title="L_1 (ELBO) per epoch", xlabel="epoch", ylabel="nats per example")
    ax_bound.legend()
    for split, style in (("train", "-"), ("val", "--")):
        epochs, values = series(records, f"{split}_reconstruction")
        if len(values):
            ax_terms.plot(epochs, -values, style, color="C2", label=f"-E_q log p(x|z), {split}")
        kl = nested_series(records, f"{split}_kl_per_layer")
        if kl:
            total = sum(v for _, v in kl.values())
            ax_terms.plot(next(iter(kl.values()))[0], total, style, color="C3", label=f"KL total, {split}")
    ax_terms.set(title="The two terms of -L_1", xlabel="epoch", ylabel="nats per example", yscale="log")
    if ax_terms.get_legend_handles_labels()[0]:  # semi-supervised runs record no reconstruction / KL terms
        ax_terms.legend(fontsize="small")
    return _save(fig, path)


def plot_training_health(records: Records, path: str | Path) -> Path:
    """Warm-up weight beta, learning rate, mean gradient norm and skipped steps per epoch."""
    panels = [("beta", "warm-up weight beta (eq. 20)"), ("lr", "learning rate"),
              ("grad_norm", "mean gradient norm (before clipping)"), ("skipped_steps", "skipped steps")]
    fig = Figure(figsize=(11, 5.5))
    for ax, (key, title) in zip(fig.subplots(2, 2).ravel(), panels):
        epochs, values = series(records, key)
        if key == "skipped_steps":
            ax.bar(epochs, values, color="C3", width=1.0)
            ax.set_ylim(0, max(1.0, float(values.max(initial=0)) * 1.1))
            title = f"{title} (total {int(values.sum())})"
        else:
            ax.plot(epochs, values)
        ax.set(title=title, xlabel="epoch")
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(records: Records, keys: Sequence[str], path: str | Path, title: str, ylabel: str) -> Path:
    """Scalar metrics over epochs on one axis, e.g. the validation error of a semi-supervised model."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for key in keys:
        ax.plot(*series(records, key), label=key)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax.legend()
    return _save(fig, path)


def plot_compared(runs: dict[str, Records], key: str, path: str | Path, title: str, ylabel: str,
                  log_epochs: bool = True, ylim: tuple[float, float] | None = None) -> Path:
    """One metric of several runs over epochs on one axis, e.g. the train L_1 of LVAE and VAE (LVAE Fig. 2).

    Epochs on a log scale by default, so that the first epochs and the long tail of a 2000-epoch schedule
    both show; the y range is `ylim`, or by default leaves out the first epochs' far-off values.
    """
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    drawn = []
    for name, records in runs.items():
        epochs, values = series(records, key)
        if len(values):
            ax.plot(epochs, values, label=name)
            drawn.append(values)
    if ylim is None:
        _robust_ylim(ax, drawn)
    else:
        ax.set_ylim(*ylim)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel, xscale="log" if log_epochs else "linear")
    ax.grid(True, which="major", alpha=0.3)
    if drawn:
        ax.legend()
    return _save(fig, path)


def units_sorted(kl: np.ndarray) -> np.ndarray:
    """(E, D) KL per epoch and unit -> (D, E), units by decreasing last-epoch KL, floored at KL_FLOOR."""
    order = np.argsort(-kl[-1], kind="stable")
    return np.clip(kl[:, order].T, KL_FLOOR, None)


def plot_unit_kl_heatmap(records: Records, key: str, path: str | Path) -> Path:
    """KL of every unit over epochs, one panel per layer, units sorted by their last KL (LVAE Fig. 4).

    White is an uninformative unit (KL at or below KL_FLOOR); darker is more KL, on a log colour scale.
    """
    per_layer = nested_series(records, key)  # name -> (epochs (E,), kl (E, D))
    heights = [max(np.sqrt(kl.shape[1]), 1.5) for _, kl in per_layer.values()]
    fig = Figure(figsize=(10, 1.2 + 0.55 * sum(heights)))
    axes = np.atleast_1d(fig.subplots(len(per_layer), 1, sharex=True, gridspec_kw={"height_ratios": heights}))
    norm = LogNorm(vmin=KL_FLOOR, vmax=max(max(kl.max() for _, kl in per_layer.values()), KL_FLOOR * 10))
    image = None
    for ax, (name, (epochs, kl)) in zip(axes, per_layer.items()):
        grid = units_sorted(kl)
        extent = (epochs[0] - 0.5, epochs[-1] + 0.5, kl.shape[1] - 0.5, -0.5)
        image = ax.imshow(grid, aspect="auto", cmap="magma_r", norm=norm, extent=extent, interpolation="nearest")
        ax.set_ylabel(f"{name}\n{kl.shape[1]} units", rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[-1].set_xlabel("epoch")
    axes[0].set_title("KL(q || p) per unit (nats, log scale), units sorted by their last value")
    fig.colorbar(image, ax=list(axes), label="KL per unit (nats)", fraction=0.03, pad=0.01)
    return _save(fig, path)


def plot_active_units(records: Records, key: str, threshold: float, path: str | Path) -> Path:
    """Per layer, the number of units whose KL exceeds `threshold` nats at each epoch."""
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for name, (epochs, kl) in nested_series(records, key).items():
        ax.plot(epochs, (kl > threshold).sum(axis=1), label=f"{name} (of {kl.shape[1]})")
    ax.set(title=f"Units with KL > {threshold:g} nats", xlabel="epoch", ylabel="units")
    ax.legend(fontsize="small")
    return _save(fig, path)


def plot_kl_per_layer(final: dict[str, float], final_label: str, records: Records, key: str,
                      path: str | Path) -> Path:
    """KL per layer (LVAE Fig. 5): a bar per layer for `final`, and each layer's KL over epochs."""
    fig = Figure(figsize=(11, 4))
    ax_bar, ax_curve = fig.subplots(1, 2)
    names = list(final)
    bars = ax_bar.bar(names, [final[n] for n in names], color=[f"C{i % 10}" for i in range(len(names))])
    ax_bar.bar_label(bars, fmt="%.2f", fontsize="small")
    ax_bar.set(title=f"KL per layer, {final_label}", ylabel="nats per example")
    for i, (name, (epochs, kl)) in enumerate(nested_series(records, key).items()):
        ax_curve.plot(epochs, np.clip(kl, KL_FLOOR, None), color=f"C{i % 10}", label=name)
    ax_curve.set(title=f"KL per layer over epochs ({key})", xlabel="epoch", ylabel="nats per example",
                 yscale="log")
    if ax_curve.lines:
        ax_curve.legend(fontsize="small")
    return _save(fig, path)


def plot_latent_pca(samples: dict[str, np.ndarray], labels: np.ndarray, path: str | Path) -> Path:
    """First two principal components of samples z ~ q(z_i | .) of each layer, coloured by class (LVAE Fig. 6).

    samples: name -> (N, D_i); labels: (N,) integer classes.
    """
    ncol = min(len(samples), 3)
    nrow = -(-len(samples) // ncol)
    fig = Figure(figsize=(3.4 * ncol + 1.2, 3.3 * nrow))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    classes = np.unique(labels)
    for ax, (name, z) in zip(axes, samples.items()):
        pca = PCA(n_components=min(2, z.shape[1]))
        pc = pca.fit_transform(z)
        y = pc[:, 1] if pc.shape[1] > 1 else np.random.default_rng(0).uniform(-0.5, 0.5, len(pc))
        for c in classes:
            keep = labels == c
            ax.scatter(pc[keep, 0], y[keep], s=4, color=f"C{int(c) % 10}", label=str(c), alpha=0.7)
        explained = ", ".join(f"{v:.0%}" for v in pca.explained_variance_ratio_)
        jitter = "" if pc.shape[1] > 1 else "; vertical: jitter"
        ax.set_title(f"{name} ({z.shape[1]} dims; variance {explained}{jitter})", fontsize="medium")
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(samples):]:
        ax.set_visible(False)
    fig.legend(*axes[0].get_legend_handles_labels(), title="class", loc="center right", markerscale=3)
    fig.subplots_adjust(right=1 - 1.0 / (3.4 * ncol + 1.2))
    return _save(fig, path)


def plot_uncertainty(inputs: np.ndarray, means: np.ndarray, stds: np.ndarray, path: str | Path) -> Path:
    """Inputs, means and standard deviations of p(x|z) for a decoder that predicts a variance.

    Each argument is (N, H, W); one column per example, rows input / mean / standard deviation.
    """
    n = inputs.shape[0]
    fig = Figure(figsize=(1.1 * n + 1.4, 3.6))
    axes = fig.subplots(3, n, squeeze=False)
    image = None
    for i in range(n):
        axes[0, i].imshow(inputs[i], cmap="gray", vmin=0, vmax=1)
        axes[1, i].imshow(means[i], cmap="gray", vmin=0, vmax=1)
        image = axes[2, i].imshow(stds[i], cmap="magma", vmin=0, vmax=float(stds.max()))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    for row, label in enumerate(("input", "mean", "std. dev.")):
        axes[row, 0].set_ylabel(label)
    fig.colorbar(image, ax=list(axes[2]), label="std. dev.", fraction=0.05, pad=0.02)
    return _save(fig, path)
