"""VAE and Ladder VAE: shapes for L = 1..5, the Ladder merge (eqs. 17-18), the posterior sample travelling down."""

import pytest
import torch

from vaelab.layers import precision_weighted_merge
from vaelab.models import MODELS, HierarchyParams, run_model
from vaelab.objectives import elbo

SIZES = ((8, 6, 5, 4, 3), (32, 24, 16, 12, 8))


def params(layers, **kw):
    return HierarchyParams(latent=SIZES[0][:layers], hidden=SIZES[1][:layers], **kw)


@pytest.mark.parametrize("family", ["vae", "lvae"])
@pytest.mark.parametrize("layers", [1, 2, 3, 4, 5])
def test_shapes_for_every_depth(family, layers):
    torch.manual_seed(0)
    model = MODELS[family](20, params(layers))
    x = torch.rand(7, 20).bernoulli()
    out = model(x, n_samples=3)
    assert [s.name for s in out.latents] == [f"z{i + 1}" for i in range(layers)]
    for i, site in enumerate(out.latents):
        assert site.z.shape == (21, SIZES[0][i])
        assert site.q.log_prob(site.z).shape == (21,) and site.p.log_prob(site.z).shape == (21,)
    assert out.px.log_prob(x.repeat(3, 1)).shape == (21,)
    assert model.generate(4).mean.shape == (4, 20)
    obj = elbo(model, x, eq_samples=2, iw_samples=2)
    obj.loss.backward()
    assert len(obj.kl_per_layer) == layers


def test_precision_weighted_merge_by_hand():
    mu, var = precision_weighted_merge(torch.tensor([1.0]), torch.tensor([0.5]), torch.tensor([-2.0]), torch.tensor([2.0]))
    # precisions 2 and 0.5: var = 1/2.5 = 0.4; mu = (1*2 + -2*0.5) * 0.4 = 0.4
    assert torch.allclose(var, torch.tensor([0.4])) and torch.allclose(mu, torch.tensor([0.4]))


def test_ladder_posterior_is_merge_of_upward_and_prior_at_posterior_sample():
    torch.manual_seed(1)
    model = MODELS["lvae"](20, params(3, batch_norm=False)).eval()
    x = torch.rand(5, 20).bernoulli()
    out = model(x)
    up = model.upward(x)
    # top layer: the upward estimate itself (eq. 19)
    top = out.latents[2]
    assert torch.allclose(top.q.mean, up[2][0]) and torch.allclose(top.q.variance, up[2][1])
    for i in (1, 0):
        mu_p, var_p = model.generative.prior_params(i, out.latents[i + 1].z)  # at the *posterior* sample
        mu_q, var_q = precision_weighted_merge(*up[i], mu_p, var_p)
        site = out.latents[i]
        assert torch.allclose(site.q.mean, mu_q, atol=1e-6) and torch.allclose(site.q.variance, var_q, atol=1e-6)
        assert torch.allclose(site.p.mean, mu_p) and torch.allclose(site.p.variance, var_p)


def test_vae_and_ladder_share_generative_model_size():
    vae, lvae = MODELS["vae"](20, params(3)), MODELS["lvae"](20, params(3))
    n = lambda m: sum(p.numel() for p in m.generative.parameters())  # noqa: E731
    assert n(vae) == n(lvae)


def test_variances_respect_floor_and_can_fall_below_one():
    torch.manual_seed(2)
    model = MODELS["vae"](20, params(1, var_floor=1e-3)).eval()
    with torch.no_grad():
        model.heads[0].var.bias.fill_(-30.0)  # softplus(-30) ~ 0: only the floor remains
    out = model(torch.rand(3, 20).bernoulli())
    var = out.latents[0].q.variance
    assert torch.all(var >= 1e-3) and torch.all(var < 1.0)


def test_run_model_repeats_for_models_without_n_samples():
    class Plain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = MODELS["vae"](20, params(1))

        def forward(self, x):
            return self.inner(x)

    out = run_model(Plain(), torch.rand(4, 20), n_samples=3)
    assert out.latents[0].z.shape == (12, 8)


def test_gaussian_observation():
    model = MODELS["lvae"](20, params(2, observation="gaussian", activation="tanh"))
    out = model(torch.rand(4, 20))
    assert torch.all(out.px.variance >= 1e-4)


def test_bad_params_are_rejected():
    with pytest.raises(ValueError, match="one hidden size per stochastic layer"):
        HierarchyParams(latent=(4, 2), hidden=(8,))
    with pytest.raises(ValueError, match="unknown activation"):
        MODELS["vae"](4, HierarchyParams(latent=(2,), hidden=(4,), activation="swish"))
