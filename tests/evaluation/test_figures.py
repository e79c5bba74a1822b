"""Figures from plain data: series extraction, unit sorting, and every plot on partial or odd inputs."""

from __future__ import annotations

import matplotlib.image
import numpy as np

from vaelab.evaluation import figures


def _records(n: int = 4) -> list[dict]:
    return [{"epoch": e, "train_elbo": -100.0 + e, "beta": min(1.0, e / 2), "lr": 1e-3, "grad_norm": 2.0,
             "skipped_steps": int(e == 2), "train_reconstruction": -90.0, "train_kl_per_layer": {"z1": 3.0, "z2": 0.5},
             "train_kl_per_unit": {"z1": [2.0, 1.0, 0.0], "z2": [0.5]}} for e in range(1, n + 1)]


def _is_png(path) -> bool:
    image = matplotlib.image.imread(path)
    return image.ndim == 3 and image.shape[0] > 20 and image[..., :3].std() > 0.01


def test_series_skips_missing_and_non_finite_values():
    records = [{"epoch": 1, "val_elbo": -5.0}, {"epoch": 2}, {"epoch": 3, "val_elbo": float("nan")},
               {"epoch": 4, "val_elbo": -4.0}]
    epochs, values = figures.series(records, "val_elbo")
    assert epochs.tolist() == [1, 4] and values.tolist() == [-5.0, -4.0]
    assert figures.series(records, "train_elbo")[0].size == 0


def test_nested_series_follows_each_layer_where_it_is_recorded():
    records = [{"epoch": 1, "kl": {"z1": [1.0, 2.0]}}, {"epoch": 2, "kl": {"z1": [1.5, 2.5], "a1": [0.1]}}]
    out = figures.nested_series(records, "kl")
    assert list(out) == ["z1", "a1"]
    assert out["z1"][1].shape == (2, 2) and out["a1"][0].tolist() == [2]


def test_units_are_sorted_by_their_last_kl_and_floored():
    kl = np.array([[5.0, 0.0, 1.0], [0.0, 3.0, 2.0]])  # (epochs, units)
    grid = figures.units_sorted(kl)
    assert grid.shape == (3, 2)
    assert grid[:, -1].tolist() == [3.0, 2.0, figures.KL_FLOOR]  # most informative unit on top
    assert grid[-1, 0] == 5.0  # a unit keeps its own history


def test_every_plot_draws_from_training_records_alone(tmp_path):
    records = _records()  # no validation metrics at all
    paths = [
        figures.plot_learning_curves(records, tmp_path / "curves.png"),
        figures.plot_training_health(records, tmp_path / "health.png"),
        figures.plot_unit_kl_heatmap(records, "train_kl_per_unit", tmp_path / "units.png"),
        figures.plot_active_units(records, "train_kl_per_unit", 0.01, tmp_path / "active.png"),
        figures.plot_kl_per_layer({"z1": 3.0, "z2": 0.5}, "last epoch", records, "train_kl_per_layer",
                                  tmp_path / "layers.png"),
        figures.plot_curves([{"epoch": 1, "val_error": 0.3}, {"epoch": 2, "val_error": 0.2}], ["val_error"],
                            tmp_path / "error.png", "error", "fraction"),
        figures.plot_compared({"a": records, "b": records[:3], "none": []}, "train_elbo", tmp_path / "runs.png",
                              "train L_1", "nats"),
        figures.plot_compared({"a": records}, "train_elbo", tmp_path / "lin.png", "L_1", "nats", log_epochs=False,
                              ylim=(-200.0, 0.0)),
    ]
    assert all(_is_png(p) for p in paths)


def test_latent_pca_handles_one_dimensional_sites_and_many_layers(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 200)
    samples = {f"z{i}": rng.normal(size=(200, d)) + labels[:, None] for i, d in enumerate([5, 1, 2, 3, 4, 2], 1)}
    assert _is_png(figures.plot_latent_pca(samples, labels, tmp_path / "pca.png"))
