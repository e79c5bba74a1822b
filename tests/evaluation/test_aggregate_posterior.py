"""The aggregate-posterior mixture (Balancing-ELBO eqs. 12-13): fitted moments, storage without pickle, KL."""

import math

import numpy as np
import pytest
import torch

from linear_gaussian import LinearGaussian
from vaelab.evaluation import log_likelihood
from vaelab.evaluation.aggregate_posterior import (AggregatePosterior, AggregatePrior, fit_aggregate_posterior,
                                                   kl_to_standard_normal, top_latent_codes)
from vaelab.models import MODELS, HierarchyParams


def _codes(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.multivariate_normal([2.0, -1.0], [[0.5, 0.3], [0.3, 0.4]], size=n // 2)
    b = rng.multivariate_normal([-1.5, 1.0], [[0.2, 0.0], [0.0, 0.9]], size=n - n // 2)
    return np.concatenate([a, b])


def test_mixture_samples_have_the_fitted_moments():
    agg = fit_aggregate_posterior(_codes(), components=3, seed=0)
    mean, cov = agg.moments()
    torch.manual_seed(0)
    z = agg.distribution().sample((200_000,)).numpy()
    assert np.allclose(z.mean(0), mean, atol=0.02)
    assert np.allclose(np.cov(z, rowvar=False), cov, atol=0.03)
    # and the fit describes the data it was fitted to (EM matches the first two moments)
    assert np.allclose(mean, _codes().mean(0), atol=0.01)
    assert np.allclose(cov, np.cov(_codes(), rowvar=False), atol=0.02)


def test_mixture_round_trips_through_npz_and_json_without_pickle(tmp_path):
    agg = fit_aggregate_posterior(_codes(), components=4, covariance="diag", seed=1, info={"epoch": 7})
    agg.save(tmp_path)
    assert AggregatePosterior.exists(tmp_path)
    with np.load(tmp_path / "aggregate_posterior.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["covariances", "means", "weights"]
    back = AggregatePosterior.load(tmp_path)
    assert back.covariances.shape == (4, 2, 2)  # diag stored as full matrices
    for name in ("weights", "means", "covariances"):
        assert np.array_equal(getattr(back, name), getattr(agg, name))
    assert back.info["epoch"] == 7 and back.info["components"] == 4


def _single(mean, var):
    d = len(mean)
    return AggregatePosterior(np.ones(1), np.array([mean], dtype=float), np.array([np.eye(d) * var]))


def test_kl_to_prior_is_zero_for_the_prior_and_analytic_for_a_gaussian():
    torch.manual_seed(2)
    kl, se = kl_to_standard_normal(_single([0.0, 0.0, 0.0], 1.0).distribution(), 20000)
    assert abs(kl) < 1e-9  # log q = log p exactly
    m, v, d = np.array([1.0, -0.5, 0.0]), 0.3, 3
    exact = 0.5 * (d * v + m @ m - d - d * math.log(v))
    kl, se = kl_to_standard_normal(_single(m, v).distribution(), 50000)
    assert abs(kl - exact) < 4 * se + 1e-3


def test_aggregate_prior_equal_to_the_prior_leaves_l_k_unchanged():
    model = LinearGaussian(exact=False, D=5, d=2)
    x = model.sample_x(50)
    torch.manual_seed(3)
    plain = log_likelihood(model, x, k=10)
    torch.manual_seed(3)
    swapped = log_likelihood(AggregatePrior(model, _single([0.0, 0.0], 1.0)), x, k=10)
    assert torch.allclose(plain, swapped, atol=1e-4)


def test_top_latent_codes_of_a_hierarchical_model_are_the_top_layer():
    model = MODELS["lvae"](10, HierarchyParams(latent=(4, 3), hidden=(8, 8), batch_norm=False))
    x = torch.rand(12, 10).bernoulli()
    assert top_latent_codes(model, x, batch_size=5).shape == (12, 3)
    means = top_latent_codes(model, x, use_means=True)
    assert torch.allclose(means, model.upward(x)[-1][0])  # E_q[z_L] of the Ladder VAE is the upward estimate
    with pytest.raises(ValueError, match="lower eval.aggregate_components"):
        fit_aggregate_posterior(means, components=32)
