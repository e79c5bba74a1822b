"""Fréchet distance: zero for a set with itself, |shift|^2 for a shift, and the textbook sqrtm formula."""

import numpy as np
import pytest
from scipy import linalg

from vaelab.evaluation.frechet import frechet_distance, frechet_distance_of_features, gaussian_statistics


def test_distance_of_a_set_with_itself_is_zero_and_grows_with_a_shift():
    f = np.random.default_rng(0).normal(size=(500, 8)) @ np.random.default_rng(1).normal(size=(8, 8))
    assert frechet_distance_of_features(f, f) == pytest.approx(0.0, abs=1e-8)
    shift = np.zeros(8)
    distances = []
    for size in (0.1, 0.5, 1.0, 2.0):
        shift[0] = size
        distances.append(frechet_distance_of_features(f, f + shift))
        assert distances[-1] == pytest.approx(size ** 2, rel=1e-6)  # same covariance: |m1 - m2|^2
    assert distances == sorted(distances)


def test_matches_the_sqrtm_formula_on_random_covariances():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + 0.1 * np.eye(6), b @ b.T
    m1, m2 = rng.normal(size=6), rng.normal(size=6)
    textbook = np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(textbook, rel=1e-6)
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(frechet_distance(m2, s2, m1, s1), rel=1e-6)


def test_statistics_need_two_examples():
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_statistics(np.zeros((1, 3)))
