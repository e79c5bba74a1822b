"""Gaussian decoders (Balancing-ELBO eqs. 6-11): the closed-form sigma^2 (eq. 10), floors, selection in config."""

import math

import pytest
import torch

from vaelab.config import ConfigError, load_config
from vaelab.layers import make_observation_head
from vaelab.layers.decoder_variance import (DECODER_VARIANCE_HEADS, GaussianClosedFormVariance,
                                            GaussianInputVariance)
from vaelab.models import MODELS, HierarchyParams
from vaelab.objectives import elbo


def test_closed_form_variance_equals_gradient_descent_minimiser_on_a_fixed_batch():
    torch.manual_seed(0)
    head = GaussianClosedFormVariance(6, 30, var_floor=1e-6, obs_variance=0.5)
    d, x = torch.randn(40, 6), torch.rand(40, 30)  # a fixed batch and fixed decoder features
    with torch.no_grad():
        px = head(d)  # log N(x | f(z), 0.5): what the objective computed with the old sigma^2
        closed = head.set_from_reconstruction(px.log_prob(x), dim=30)
        mean = px.mean
    assert closed == pytest.approx(float(((x - mean) ** 2).mean()), rel=1e-5)  # eq. 10: the MSE
    # the maximiser of the batch's mean log N(x | f(z), sigma^2) found by gradient descent on log sigma^2
    log_var = torch.tensor(math.log(0.5), requires_grad=True)
    for _ in range(300):
        loss = -torch.distributions.Normal(mean, (0.5 * log_var).exp()).log_prob(x).mean()
        (grad,) = torch.autograd.grad(loss, log_var)
        with torch.no_grad():
            log_var -= 1.0 * grad
    assert float(log_var.detach().exp()) == pytest.approx(closed, rel=1e-3)


@pytest.mark.parametrize("name", sorted(DECODER_VARIANCE_HEADS))
def test_every_gaussian_decoder_gives_per_example_log_density_and_respects_its_floor(name):
    torch.manual_seed(1)
    head = make_observation_head(name, 8, 12, var_floor=1e-3, obs_variance=1e-6)
    if isinstance(head, GaussianInputVariance):
        head.start_stage_two()
    px = head(torch.randn(5, 8))
    assert px.log_prob(torch.rand(5, 12)).shape == (5,)
    assert px.variance.shape == (5, 12) and bool((px.variance >= 1e-3 - 1e-9).all())


def test_fixed_variance_is_the_configured_value_and_not_trained():
    head = make_observation_head("gaussian_fixed", 4, 3, var_floor=1e-4, obs_variance=0.5)
    assert torch.allclose(head(torch.randn(2, 4)).variance, torch.full((2, 3), 0.5))
    assert {n for n, _ in head.named_parameters()} == {"mean.weight", "mean.bias"}


def test_two_stage_head_never_predicts_below_the_stage_one_optimum():
    torch.manual_seed(2)
    head = GaussianInputVariance(8, 12, var_floor=1e-6, obs_variance=0.5)
    head.global_variance.fill_(0.03)  # sigma*^2 found in stage one
    assert torch.equal(head(torch.randn(3, 8)).variance, torch.full((3, 12), 0.03))  # stage one: global
    head.start_stage_two()
    v0 = head(torch.randn(3, 8)).variance
    assert torch.allclose(v0, torch.full((3, 12), 0.03 * 1.1))  # starts just above the floor
    with torch.no_grad():
        head.log_excess.weight.normal_(0, 50.0)  # extreme outputs either way
        head.log_excess.bias.fill_(-1e4)
    v = head(torch.randn(100, 8)).variance
    assert bool((v >= 0.03).all()) and head.lower_bound == pytest.approx(0.03)


@pytest.mark.parametrize("family", ["vae", "lvae"])
@pytest.mark.parametrize("name", sorted(DECODER_VARIANCE_HEADS))
def test_every_model_can_use_every_gaussian_decoder(family, name):
    torch.manual_seed(3)
    model = MODELS[family](20, HierarchyParams(latent=(4, 2), hidden=(16, 8), observation=name))
    obj = elbo(model, torch.rand(6, 20), iw_samples=2)
    obj.loss.backward()
    assert torch.isfinite(obj.bound).all()
    assert model.generate(3).mean.shape == (3, 20)


def test_observation_names_are_checked_in_config():
    cfg = load_config(None, ["model.observation=gaussian_fixed", "model.obs_variance=1.0", "data.binarize=false"])
    assert cfg.model.params.observation == "gaussian_fixed" and cfg.model.params.obs_variance == 1.0
    for name in ("bernoulli", "gaussian"):  # the core's names keep working
        assert load_config(None, [f"model.observation={name}"]).model.params.observation == name
    with pytest.raises(ConfigError, match="model.observation: unknown 'gaussian_magic'"):
        load_config(None, ["model.observation=gaussian_magic"])
    with pytest.raises(ConfigError, match="obs_variance must be > 0"):
        load_config(None, ["model.obs_variance=0"])
    with pytest.raises(ConfigError, match="data.dequantize needs real-valued data"):
        load_config(None, ["data.dequantize=true"])
