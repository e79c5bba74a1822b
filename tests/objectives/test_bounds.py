"""Estimators against a model with a known answer (linear-Gaussian, exact log p(x))."""

import torch

from linear_gaussian import LinearGaussian
from vaelab.evaluation import log_likelihood
from vaelab.objectives import elbo, linear_warmup, log_weights


def test_exact_posterior_makes_every_log_weight_equal_log_px():
    torch.manual_seed(0)
    model = LinearGaussian(exact=True)
    x = model.sample_x(20)
    exact = model.exact_log_px(x)
    lw = log_weights(model(x), x)
    assert torch.allclose(lw, exact, atol=1e-8)
    assert torch.allclose(log_likelihood(model, x, k=7, sample_chunk=3), exact, atol=1e-8)
    assert torch.allclose(elbo(model, x, iw_samples=5).bound, exact, atol=1e-8)


def test_elbo_with_exact_posterior_equals_log_px_in_expectation():
    torch.manual_seed(1)
    model = LinearGaussian(exact=True)
    x = model.sample_x(10)
    bound = elbo(model, x, eq_samples=4000).bound  # analytic KL + Monte Carlo reconstruction
    assert torch.allclose(bound, model.exact_log_px(x), atol=0.05)


def test_elbo_below_log_px_and_l_k_rises_towards_it():
    torch.manual_seed(2)
    model = LinearGaussian(exact=False)
    x = model.sample_x(400)
    exact = model.exact_log_px(x).mean()
    bounds = [log_likelihood(model, x, k=k, sample_chunk=97).mean() for k in (1, 10, 100, 1000)]
    gap = [float(exact - b) for b in bounds]
    assert gap[0] > 0.5  # the poor posterior leaves a real gap
    assert gap[1] < 0.5 * gap[0], gap
    assert all(g2 < g1 + 0.03 for g1, g2 in zip(gap, gap[1:])), gap  # non-increasing up to Monte Carlo noise
    assert abs(gap[-1]) < 0.03, gap  # and L_K approaches log p(x)


def test_l1_equals_elbo_in_expectation():
    torch.manual_seed(3)
    model = LinearGaussian(exact=False)
    x = model.sample_x(8)
    n = 20000
    lw = log_weights(model(x.repeat(n, 1)), x.repeat(n, 1)).view(n, 8)  # n one-sample L_1 estimates
    analytic = elbo(model, x, eq_samples=n).bound  # analytic KL, Monte Carlo reconstruction
    se = lw.std(0) / n ** 0.5
    assert torch.all((lw.mean(0) - analytic).abs() < 4 * se + 1e-3)


def test_l_k_non_decreasing_in_k_statistically():
    torch.manual_seed(4)
    model = LinearGaussian(exact=False, D=8, d=3)
    x = model.sample_x(200)
    means = [float(log_likelihood(model, x, k=k).mean()) for k in (1, 2, 4, 8, 16, 32)]
    assert all(b >= a - 0.02 for a, b in zip(means, means[1:])), means


def test_iw_training_bound_gradient_and_beta():
    torch.manual_seed(5)
    model = LinearGaussian(exact=False)
    x = model.sample_x(6)
    model.c.requires_grad_(True)
    obj = elbo(model, x, beta=0.3, eq_samples=2, iw_samples=4)
    obj.loss.backward()
    assert model.c.grad is not None and torch.isfinite(model.c.grad).all()
    assert obj.bound.shape == (6,) and obj.reconstruction.shape == (6,)
    assert set(obj.kl_per_layer) == {"z"} and obj.kl_per_unit["z"].shape == (2,)


def test_linear_warmup_eq20():
    assert [linear_warmup(e, 4) for e in (1, 2, 4, 5, 100)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    assert linear_warmup(1, 0) == 1.0
