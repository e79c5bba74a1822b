"""VAE and Ladder VAE with flow posteriors (model.flow): Monte Carlo KL, the flowed sample travelling down,
L_K >= ELBO, a few training steps on digits, config checks."""

from pathlib import Path

import pytest
import torch

from vaelab.config import ConfigError, load_config
from vaelab.data import binarize_fixed, load_dataset
from vaelab.distributions import FlowPosterior, has_analytic_kl
from vaelab.evaluation import log_likelihood
from vaelab.models import MODELS, HierarchyParams
from vaelab.objectives import elbo
from single_thread import one_thread  # noqa: F401 - the fixture, used through pytestmark

pytestmark = pytest.mark.usefixtures("one_thread")


def params(flow="iaf", layers=2, **kw):
    return HierarchyParams(latent=(6, 4, 3)[:layers], hidden=(24, 16, 12)[:layers], batch_norm=False,
                           flow=flow, flow_steps=2, flow_hidden=10, **kw)


def perturb_flows(model, scale=0.3, seed=0):
    """Move the flows off their initial contraction, so that a flowed sample differs from a Gaussian one."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.posterior_flows.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return model


@pytest.mark.parametrize("family", ["vae", "lvae"])
@pytest.mark.parametrize("flow", ["iaf", "planar"])
@pytest.mark.parametrize("where", ["top", "bottom", "all"])
def test_flowed_layers_use_the_monte_carlo_kl_and_have_no_per_unit_kl(family, flow, where):
    torch.manual_seed(0)
    model = perturb_flows(MODELS[family](12, params(flow, flow_layers=where)))
    x = torch.rand(5, 12).bernoulli()
    flowed = {"top": {"z2"}, "bottom": {"z1"}, "all": {"z1", "z2"}}[where]
    out = model(x)
    for site in out.latents:
        assert isinstance(site.q, FlowPosterior) == (site.name in flowed)
        assert has_analytic_kl(site.q, site.p) == (site.name not in flowed)
    torch.manual_seed(1)
    obj = elbo(model, x)
    torch.manual_seed(1)
    out = model(x)
    for site in out.latents:
        if site.name in flowed:  # log q(z) - log p(z) at the drawn sample, through the log-determinant
            assert torch.allclose(obj.kl_per_layer[site.name], site.q.log_prob(site.z) - site.p.log_prob(site.z))
    assert set(obj.kl_per_unit) == {"z1", "z2"} - flowed
    obj.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.posterior_flows.parameters())


def test_ladder_passes_the_flowed_sample_down():
    torch.manual_seed(2)
    model = perturb_flows(MODELS["lvae"](12, params("iaf", layers=3, flow_layers="all"))).eval()
    x = torch.rand(4, 12).bernoulli()
    out = model(x, n_samples=3)
    features = model.upward_features(x)
    for i in (1, 0):
        above = out.latents[i + 1]
        z0, _ = model.posterior_flows.flows[str(i + 1)].inverse(above.z, features[i + 1].repeat(3, 1))
        assert not torch.allclose(z0, above.z, atol=1e-3)  # the flow really moved the sample ...
        mu_p, var_p = model.generative.prior_params(i, above.z)  # ... and the flowed one was passed down
        assert torch.allclose(out.latents[i].p.mean, mu_p) and torch.allclose(out.latents[i].p.variance, var_p)


def test_l_k_is_above_the_elbo_and_rises_with_k():
    torch.manual_seed(3)
    model = perturb_flows(MODELS["vae"](12, params("iaf", flow_layers="all")), scale=0.2)
    x = torch.rand(300, 12).bernoulli()
    torch.manual_seed(4)
    l1 = log_likelihood(model, x, k=1)
    bounds = [float(log_likelihood(model, x, k=k).mean()) for k in (5, 25)]
    elbo_mc = elbo(model, x, eq_samples=50).bound  # Monte Carlo KL for both layers
    se = float(l1.std()) / 300 ** 0.5
    assert abs(float(l1.mean()) - float(elbo_mc.mean())) < 4 * se  # L_1 is the ELBO
    assert bounds[0] > float(elbo_mc.mean()) + 0.05 and bounds[1] > bounds[0], (float(elbo_mc.mean()), bounds)
    obj = elbo(model, x, iw_samples=25)
    assert float(obj.bound.mean()) > float(elbo_mc.mean())


def test_vae_with_iaf_trains_on_digits():
    data = load_dataset("digits", download=False)
    x = binarize_fixed(torch.from_numpy(data.x_train[:512]), seed=0)
    torch.manual_seed(5)
    model = MODELS["vae"](x.shape[1], HierarchyParams(latent=(8,), hidden=(64,), flow="iaf", flow_steps=2,
                                                      flow_hidden=32))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = [p.detach().clone() for p in model.posterior_flows.parameters()]
    first = None
    for step in range(40):
        obj = elbo(model, x[(step % 8) * 64:(step % 8 + 1) * 64])
        assert torch.isfinite(obj.loss)
        opt.zero_grad()
        obj.loss.backward()
        opt.step()
        first = first if first is not None else float(obj.loss.detach())
    model.eval()
    with torch.no_grad():
        after = float(elbo(model, x, eq_samples=5).loss)
    assert after < first - 5, (first, after)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.posterior_flows.parameters()))


def test_no_flow_leaves_the_model_unchanged():
    torch.manual_seed(6)
    plain = MODELS["lvae"](12, HierarchyParams(latent=(4, 2), hidden=(8, 8)))
    assert len(plain.posterior_flows.flows) == 0 and not any(k.startswith("posterior_flows") for k in plain.state_dict())


def test_flow_config_keys_and_errors():
    cfg = load_config(None, ["model.family=vae", "model.flow=iaf", "model.flow_steps=3", "model.flow_layers=all",
                             "model.flow_hidden=7", "model.latent=[4]", "model.hidden=[8]"])
    assert (cfg.model.params.flow, cfg.model.params.flow_steps, cfg.model.params.flow_hidden) == ("iaf", 3, 7)
    for bad, message in (("model.flow=maf", "unknown flow 'maf'; choose none, iaf, planar"),
                         ("model.flow_layers=middle", "flow_layers: 'middle' is not one of top, bottom, all"),
                         ("model.flow_steps=0", "flow_steps and model.flow_hidden must be positive")):
        with pytest.raises(ConfigError, match=message):
            load_config(None, ["model.family=vae", bad])


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[2] / "configs" / "flows").glob("*.yaml")))
def test_flow_presets_load_and_build(path):
    cfg = load_config(path)
    assert cfg.model.params.flow in ("iaf", "planar")
    model = MODELS[cfg.model.family](784, cfg.model.params)
    assert len(model.posterior_flows.flows) == {"top": 1, "bottom": 1, "all": cfg.model.params.layers}[
        cfg.model.params.flow_layers]
