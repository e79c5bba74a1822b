"""The ADGM as the authors' code builds it: p(a) = N(0, I), q(z|y,x), a frozen q(a|x), and their initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from vaelab.config import ConfigError, config_from_dict
from vaelab.data import split_labelled
from vaelab.models import MODELS, AuxiliaryParams, SemiSupervisedParams
from vaelab.models.conditional import SplitLinear
from vaelab.objectives.semisupervised import semi_supervised_objective
from vaelab.train import TrainSettings, fit
from vaelab.train.freeze import freeze
from vaelab.train.semisupervised import SemiSupervisedData

FROZEN = ("inference.q_a", "inference.q_a_head")
AUTHORS = {"aux_prior": "standard_normal", "q_z_reads_a": False}


def _adgm(seed=0, **kw):
    torch.manual_seed(seed)
    return MODELS["adgm"](6, AuxiliaryParams(classes=2, latent=3, auxiliary=2, hidden=(8, 8), **kw))


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_frozen_submodules_keep_their_weights_while_the_others_train(tmp_path):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 6, generator=g), torch.arange(40) % 2
    data = SemiSupervisedData(split_labelled(x, y, 2, 2, seed=0), torch.zeros(0, 6), torch.zeros(0, dtype=torch.long),
                              binarize=True, beta=0.1, labelled_batch=4, classify_samples=1)
    model = _adgm(**AUTHORS)
    before = _state(model)
    fit(model, data, TrainSettings(epochs=2, batch_size=12, lr=1e-2, progress=False, freeze=FROZEN), tmp_path, hooks=[])
    after = model.state_dict()
    frozen = [k for k in before if k.startswith(FROZEN)]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert all(not torch.equal(before[k], after[k]) for k in before if k not in frozen)


def test_with_the_three_options_a_reaches_the_bound_only_through_the_classifier():
    model, x, y = _adgm(**AUTHORS), torch.rand(5, 6).bernoulli(), torch.tensor([0, 1, 1, 0, 1])
    assert not hasattr(model, "p_a") and len(model.inference.q_z.first.weights) == 2  # q(z|x,y): no a
    freeze(model, FROZEN)
    torch.manual_seed(3)
    out = model(x, y, n_samples=2)
    with torch.no_grad():  # move a: every draw of a changes, the noise of z stays the same
        model.inference.q_a_head.mean.bias.add_(3.0)
    torch.manual_seed(3)
    moved = model(x, y, n_samples=2)
    a, a_moved = out.latents[0], moved.latents[0]
    assert not torch.allclose(a.z, a_moved.z)
    assert torch.equal(out.px.mean, moved.px.mean) and torch.equal(out.latents[1].z, moved.latents[1].z)
    assert not torch.allclose(out.label.q.logits, moved.label.q.logits)  # q(y|a,x) is where a acts
    assert a.analytic_kl and torch.allclose(a.p.mean, torch.zeros_like(a.z))  # p(a) = N(0, I), closed-form KL
    loss = semi_supervised_objective(model, x[:2], y[:2], x[2:], alpha=1.0, samples=2).loss
    loss.backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith(FROZEN))
    assert all(p.grad is not None for n, p in model.named_parameters() if not n.startswith(FROZEN))


def test_the_paper_model_is_unchanged_by_default():
    model = _adgm()
    assert hasattr(model, "p_a") and len(model.inference.q_z.first.weights) == 3
    out = model(torch.rand(3, 6).bernoulli(), torch.tensor([0, 1, 0]))
    assert not out.latents[0].analytic_kl


def _std(w):
    return float(w.detach().std())


@pytest.mark.parametrize("family", ["m2", "adgm"])
def test_authors_initialisation(family):
    torch.manual_seed(0)
    base = dict(classes=10, latent=100, hidden=(500, 500), init="authors")
    model = MODELS[family](784, SemiSupervisedParams(**base) if family == "m2" else AuxiliaryParams(auxiliary=100,
                                                                                                     **base))
    model.requires_grad_(False)
    relu = math.sqrt(2)
    glorot_std = lambda fan_in, fan_out, gain: gain * math.sqrt(2 / (fan_in + fan_out))  # noqa: E731
    first = model.q_z.first if family == "m2" else model.inference.q_z.first
    for w in first.weights:  # one Glorot-normal layer per input part, each with its own fans
        assert _std(w) == pytest.approx(glorot_std(w.shape[1], 500, relu), rel=0.05)
    assert float(first.bias.detach().std()) == pytest.approx(1e-3 * math.sqrt(len(first.weights)), rel=0.2)
    hidden = model.p_x.rest.net[0]
    assert _std(hidden.weight) == pytest.approx(glorot_std(500, 500, relu), rel=0.05)
    assert float(hidden.bias.detach().std()) == pytest.approx(1e-3, rel=0.2) and float(hidden.bias.abs().max()) > 0
    head = model.p_x_head.logits
    assert _std(head.weight) == pytest.approx(glorot_std(500, 784, 1.0), rel=0.05)
    q_y = model.q_y if family == "m2" else model.inference.q_y
    deeper = q_y.net[2] if family == "m2" else q_y.rest.net[0]  # uniform: bound gain sqrt(6 / fans)
    bound = relu * math.sqrt(6 / 1000)
    assert float(deeper.weight.abs().max()) <= bound and float(deeper.weight.abs().max()) > 0.99 * bound
    out = model.q_y_head if family == "m2" else model.inference.q_y_head
    assert float(out.weight.abs().max()) <= math.sqrt(6 / 510) and _std(out.weight) == pytest.approx(
        math.sqrt(6 / 510) / math.sqrt(3), rel=0.05)
    if family == "adgm":
        assert _std(model.inference.q_a_head.mean.weight) == pytest.approx(glorot_std(500, 100, 1.0), rel=0.05)
        assert _std(model.inference.q_y.first.weights[0]) == pytest.approx(glorot_std(784, 500, relu), rel=0.05)
    else:
        assert _std(model.q_y.net[0].weight) == pytest.approx(glorot_std(784, 500, relu), rel=0.05)


def test_glorot_stays_the_default():
    model = _adgm()
    assert all(not m.bias.detach().any() for m in model.modules() if isinstance(m, (nn.Linear, SplitLinear)))


@pytest.mark.parametrize("model, message", [
    ({"family": "sdgm", "aux_prior": "standard_normal"}, "model.aux_prior standard_normal is an ADGM option"),
    ({"family": "adgm", "aux_prior": "flat"}, "model.aux_prior must be one of conditional, standard_normal"),
    ({"family": "m2", "init": "he"}, "model.init must be one of glorot, authors"),
])
def test_bad_model_options_are_config_errors(model, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"model": model})
