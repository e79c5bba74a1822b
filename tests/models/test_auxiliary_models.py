"""AVAE, M2, ADGM, SDGM: the contract, the enumerated row layout, Glorot init, the split first layer."""

import math

import pytest
import torch

from vaelab.models import MODELS, AuxiliaryParams, AuxiliaryVAEParams, SemiSupervisedParams, run_model
from vaelab.models.base import repeat_samples
from vaelab.models.conditional import SplitLinear, glorot_
from vaelab.objectives import elbo, log_weights

SEMI = ["m2", "adgm", "sdgm"]


def _semi(family, classes=3, **kw):
    torch.manual_seed(0)
    base = {"classes": classes, "latent": 4, "hidden": (16, 16), **kw}
    return MODELS[family](10, SemiSupervisedParams(**base) if family == "m2" else AuxiliaryParams(auxiliary=3, **base))


@pytest.mark.parametrize("family", SEMI)
def test_labelled_and_enumerated_layouts(family):
    model, x, y = _semi(family), torch.rand(5, 10).bernoulli(), torch.tensor([0, 2, 1, 1, 0])
    out = model(x, y, n_samples=2)  # (S, B) rows
    assert out.label.y.tolist() == y.tolist() * 2 and not out.label.enumerated
    assert out.px.log_prob(x.repeat(2, 1)).shape == (10,)
    out = model(x, None, n_samples=2)  # (C, S, B) rows, class-major
    assert out.label.enumerated and out.label.y.tolist() == [c for c in range(3) for _ in range(10)]
    assert out.px.log_prob(x.repeat(6, 1)).shape == (30,)
    for site in out.latents:
        assert site.q.log_prob(site.z).shape == (30,) and site.p.log_prob(site.z).shape == (30,)
    qy = out.label.q.probs.view(3, 2, 5, 3)
    assert torch.allclose(qy[0], qy[1]) and torch.allclose(qy[0], qy[2])  # q(y|a,x) shared by the classes
    if family != "m2":
        a = out.latents[0].z.view(3, 2, 5, -1)
        assert torch.equal(a[0], a[2])  # one draw of a serves every class (eq. 17)
        assert not torch.equal(a[:, 0], a[:, 1])  # ... and differs between samples


@pytest.mark.parametrize("family", SEMI)
def test_classify_encode_decode_generate(family):
    model, x = _semi(family), torch.rand(4, 10).bernoulli()
    probs = model.classify(x, n_samples=5)
    assert probs.shape == (4, 3) and torch.allclose(probs.sum(1), torch.ones(4))
    z = model.encode_z(x, torch.tensor([0, 1, 2, 0]))
    assert z.shape == (4, 4) and model.decode(z, torch.tensor([2, 2, 2, 2])).mean.shape == (4, 10)
    assert model.generate(7).mean.shape == (7, 10)


@pytest.mark.parametrize("family", SEMI)
def test_bad_labels_are_refused(family):
    model = _semi(family)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        model(torch.rand(2, 10), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        model(torch.rand(2, 10), torch.tensor([0, 1, 2]))


def test_gaussian_observation_and_latent_variances_below_one():
    model = _semi("adgm", observation="gaussian")
    with torch.no_grad():
        model.inference.q_z_head.var.bias.fill_(-5.0)  # log-variance -5: variance e^-5, not softplus(-5) + 1
    out = model(torch.rand(3, 10), torch.tensor([0, 1, 2]))
    assert torch.all(out.latents[1].q.variance < 0.05)
    assert out.px.variance.shape == (3, 10)


def test_split_linear_is_a_linear_layer_on_the_concatenation():
    torch.manual_seed(1)
    layer = SplitLinear((3, 2, 4), 5)
    parts = [torch.randn(6, 3), torch.randn(6, 2), torch.randn(6, 4)]
    dense = torch.nn.Linear(9, 5)
    with torch.no_grad():
        dense.weight.copy_(torch.cat(list(layer.weights), 1))
        dense.bias.copy_(layer.bias)
    assert torch.allclose(layer(*parts), dense(torch.cat(parts, 1)), atol=1e-6)
    # broadcasting: a per-example part against per-sample parts
    out = layer(parts[0][:2].view(1, 2, 3), torch.randn(4, 2, 2), torch.randn(4, 2, 4))
    assert out.shape == (4, 2, 5)


def test_glorot_initialisation():
    torch.manual_seed(2)
    model = _semi("adgm", hidden=(400, 400))
    glorot_(model)
    w = model.p_x.rest.net[0].weight  # a 400 x 400 hidden layer
    bound = math.sqrt(6 / 800)
    assert float(w.detach().abs().max()) <= bound and abs(float(w.detach().std()) - bound / math.sqrt(3)) < 0.05 * bound
    first = model.inference.q_z.first  # the split layer: one bound for the concatenated fan-in
    bound = math.sqrt(6 / (sum(first.in_features) + 400))
    assert all(float(p.detach().abs().max()) <= bound for p in first.weights)
    assert float(first.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("aux_reads_x", [True, False])
def test_auxiliary_vae_sites_and_training_bounds(layers, aux_reads_x):
    torch.manual_seed(3)
    p = AuxiliaryVAEParams(latent=(4, 2)[:layers], auxiliary=(3, 2)[:layers], hidden=(16, 8)[:layers],
                           aux_reads_x=aux_reads_x)
    model = MODELS["avae"](10, p)
    x = torch.rand(6, 10).bernoulli()
    out = model(x, n_samples=2)
    names = [n for i in range(layers) for n in (f"a{i + 1}", f"z{i + 1}")]
    assert [s.name for s in out.latents] == names
    assert [s.analytic_kl for s in out.latents] == [n == f"z{layers}" for n in names]
    obj = elbo(model, x, beta=0.5, eq_samples=2, iw_samples=3)
    obj.loss.backward()
    assert obj.bound.shape == (6,) and model.generate(3).mean.shape == (3, 10)


def test_auxiliary_vae_elbo_is_the_monte_carlo_elbo():
    """Paired draws: the closed-form KL is used only where valid, so the two agree in expectation."""
    torch.manual_seed(4)
    model = MODELS["avae"](10, AuxiliaryVAEParams(latent=(4, 2), auxiliary=(3, 2), hidden=(16, 8),
                                                  batch_norm=False)).eval()
    with torch.no_grad():
        for head in (*model.q_a_heads, *model.q_z_heads):
            head.mean.weight.mul_(4)
    x = torch.rand(40, 10, generator=torch.Generator().manual_seed(5)).bernoulli()
    with torch.no_grad():
        torch.manual_seed(6)
        bound = elbo(model, x, eq_samples=200).bound
        torch.manual_seed(6)
        lw = log_weights(run_model(model, x, n_samples=200), repeat_samples(x, 200)).view(200, 40).mean(0)
    diff = bound - lw
    assert abs(float(diff.mean())) < 4 * float(diff.std()) / 40 ** 0.5 + 1e-3


def test_bad_auxiliary_params():
    with pytest.raises(ValueError, match="one size per stochastic layer"):
        AuxiliaryVAEParams(latent=(4, 2), auxiliary=(3,), hidden=(8, 8))
    with pytest.raises(ValueError, match="model.auxiliary"):
        AuxiliaryParams(auxiliary=0)
    with pytest.raises(ValueError, match="model.classes"):
        SemiSupervisedParams(classes=0)


def test_adgm_p_a_reads_x_only_when_told():
    """aux_reads_x: p(a|z,y,x) (eqs. 5, 24) or p(a|z,y) (section 3): then p(a|.) is a function of (y, z) alone."""
    with_x, without_x = _semi("adgm"), _semi("adgm", aux_reads_x=False)
    assert with_x.p_a.first.in_features == (10, 3, 4) and without_x.p_a.first.in_features == (3, 4)
    x, y, z = torch.rand(5, 10), torch.tensor([0, 2, 1, 1, 0]), torch.randn(5, 4)
    y1 = torch.nn.functional.one_hot(y, 3).float()
    mean = without_x.p_a_head.params(without_x.p_a(y1, z))[0]
    assert mean.shape == (5, 3)
    out = without_x(x, None, n_samples=2)  # the enumerated layout still works
    assert out.latents[0].p.log_prob(out.latents[0].z).shape == (30,)
    out = without_x(x, y)
    pa = out.latents[0].p  # p(a | z, y) from the model equals the network applied to the drawn z and y
    z_drawn = out.latents[1].z
    assert torch.allclose(pa.mean, without_x.p_a_head.params(without_x.p_a(y1, z_drawn))[0])
