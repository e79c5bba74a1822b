"""The toy experiments: the 2-D potentials (exact log Z, bounds) and the half-moons, end to end on tiny settings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from vaelab.distributions.potentials import Potential, energy, grid_log_integral, grid_log_normaliser
from vaelab.experiments.moons import run_moons
from vaelab.experiments.potentials import fit_potential, run_potentials

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_grid_integral_of_a_gaussian_is_exact():
    log_f = lambda z: -0.5 * ((z / 0.7) ** 2).sum(-1)  # noqa: E731  integral 2 pi 0.49
    assert abs(grid_log_integral(log_f) - math.log(2 * math.pi * 0.49)) < 1e-6


def test_potentials_match_rezende_and_mohamed():
    # U1 is zero at its two modes (2, 0), (-2, 0); U2 is zero on the curve z2 = sin(pi z1 / 2)
    assert abs(float(energy(1, torch.tensor([2.0, 0.0])))) < 1e-6
    z = torch.tensor([[0.5, math.sin(math.pi / 4)], [-1.0, -1.0]])
    assert torch.allclose(energy(2, z), torch.zeros(2), atol=1e-6)
    assert float(energy(3, torch.tensor([1.0, -2.0]))) < 1e-3  # the second branch, z2 = w1 - w2 = 1 - 3
    assert float(energy(1, torch.tensor([5.0, 0.0]))) > float(energy(1, torch.tensor([3.9, 0.0])))  # the wall
    assert Potential(4, 3).log_prob(torch.zeros(3, 2)).shape == (3,)
    assert 1.8 < grid_log_normaliser(1) < 1.95  # two modes of mass ~ 2 pi 0.4 0.6 * 2.2 each


def test_bounds_lie_below_exact_log_z():
    for name in ("gaussian", "auxiliary"):
        fit = fit_potential(1, name, steps=30, n_eval=4000)
        assert fit.bound < fit.log_z + 3 * fit.bound_se
        assert fit.iw_bound > fit.bound and fit.iw_bound < fit.log_z + 0.05


def test_potentials_end_to_end(tmp_path):
    rows = run_potentials(tmp_path, potentials=(2,), steps=20, seeds=(0,))
    assert {r["posterior"] for r in rows} == {"gaussian", "auxiliary"}
    assert (tmp_path / "potentials.png").stat().st_size > 0
    assert json.loads((tmp_path / "potentials.json").read_text())[0]["potential"] == 2


def test_moons_end_to_end(tmp_path):
    overrides = ["train.epochs=1", "data.validation=100", "model.hidden=[8, 8]", "train.threads=1",
                 "eval.iw_samples=1", "eval.classify_samples=1"]
    summary = run_moons(CONFIGS / "adgm" / "moons.yaml", tmp_path, overrides)
    assert set(summary) == {"adgm", "no-aux"} and all(len(r["val_error"]) == 1 for r in summary.values())
    assert (tmp_path / "moons.png").stat().st_size > 0
    assert "auxiliary" not in (tmp_path / "no-aux.yaml").read_text()
