"""Semi-supervised bounds (ADGM eqs. 10-13, 17, 27): known answers, enumeration, alpha, importance weighting."""

import math

import pytest
import torch
from torch.distributions import Normal

from labelled_gaussian import LabelledGaussian
from vaelab.models import MODELS, AuxiliaryParams, SemiSupervisedParams
from vaelab.objectives.semisupervised import (batch_weights, classification_weight, labelled_bound,
                                              labelled_log_likelihood, semi_supervised_objective, unlabelled_bound,
                                              unlabelled_log_likelihood)


def _model(family, classes=3, seed=0):
    torch.manual_seed(seed)
    kw = dict(classes=classes, latent=3, hidden=(16, 16))
    params = SemiSupervisedParams(**kw) if family == "m2" else AuxiliaryParams(auxiliary=2, **kw)
    return MODELS[family](6, params).eval()


def _x(n=8, seed=1):
    return torch.rand(n, 6, generator=torch.Generator().manual_seed(seed)).bernoulli()


def test_exact_posteriors_give_log_p_x_y_and_log_p_x():
    torch.manual_seed(0)
    model = LabelledGaussian()
    x = torch.randn(10, 4, dtype=torch.float64) * 2
    y = torch.arange(10) % 3
    log_pxy = model.log_pxy(x)  # (B, C)
    assert torch.allclose(labelled_bound(model, x, y, samples=3).bound, log_pxy[torch.arange(10), y], atol=1e-8)
    log_px = torch.logsumexp(log_pxy, 1)
    assert torch.allclose(unlabelled_bound(model, x, samples=2).bound, log_px, atol=1e-8)
    assert torch.allclose(unlabelled_log_likelihood(model, x, k=5, sample_chunk=2), log_px, atol=1e-8)
    assert torch.allclose(labelled_log_likelihood(model, x, y, k=4), log_pxy[torch.arange(10), y], atol=1e-8)


@pytest.fixture
def deterministic_samples(monkeypatch):
    """Every Normal draw returns its mean, so separate passes see the same a and z."""
    def mean(self, sample_shape=torch.Size()):
        return self.loc.expand(self._extended_shape(sample_shape))
    monkeypatch.setattr(Normal, "rsample", mean)
    monkeypatch.setattr(Normal, "sample", mean)


@pytest.mark.parametrize("family", ["m2", "adgm", "sdgm"])
def test_enumeration_equals_explicit_sum_over_classes(family, deterministic_samples):
    model, x = _model(family), _x()
    enumerated = unlabelled_bound(model, x, samples=2).bound
    probs = model.classify(x)  # q(y|a,x) at the (deterministic) a
    explicit = torch.zeros(8)
    for c in range(3):
        y = torch.full((8,), c)
        f_c = labelled_bound(model, x, y).bound  # E[f(x, y=c, a, z)] for the same a
        explicit += probs[:, c] * (f_c - probs[:, c].log())
    assert torch.allclose(enumerated, explicit, atol=1e-4), (enumerated, explicit)


@pytest.mark.parametrize("family", ["m2", "adgm", "sdgm"])
def test_with_one_class_the_unlabelled_bound_is_the_labelled_one(family):
    model, x = _model(family, classes=1), _x()
    torch.manual_seed(3)
    u = unlabelled_bound(model, x, samples=4).bound
    torch.manual_seed(3)  # the same draws: a then z, in the same shapes
    lab = labelled_bound(model, x, torch.zeros(8, dtype=torch.long), samples=4).bound
    assert torch.allclose(u, lab, atol=1e-5)


def test_alpha_follows_eq_12():
    assert classification_weight(0.1, 100, 59900) == pytest.approx(60.0)
    assert classification_weight(1.0, 6, 9994) == pytest.approx(10000 / 6)
    with pytest.raises(ValueError, match="labelled data"):
        classification_weight(0.1, 0, 10)


def _below(a, b):
    """a <= b up to three standard errors of the per-example difference."""
    d = b - a
    return float(d.mean()) > -3 * float(d.std()) / d.shape[0] ** 0.5


@pytest.mark.parametrize("family", ["m2", "adgm"])
def test_importance_weighted_bounds_lie_above_and_rise(family):
    model, x = _model(family, seed=2), _x(100, seed=4)
    y = torch.arange(100) % 3
    with torch.no_grad():
        u = unlabelled_bound(model, x, samples=20).bound
        lab = labelled_bound(model, x, y, samples=20).bound
    iw_u = [unlabelled_log_likelihood(model, x, k=k).float() for k in (1, 8, 64)]
    iw_l = [labelled_log_likelihood(model, x, y, k=k).float() for k in (1, 8, 64)]
    assert _below(u, iw_u[0])  # Jensen over y: already above -U at k = 1
    assert _below(lab, iw_l[0]) and _below(iw_l[0], lab)  # L_1 = -L in expectation
    for seq in (iw_u, iw_l):
        assert _below(seq[0], seq[1]) and _below(seq[1], seq[2])
        assert float(seq[2].mean() - seq[0].mean()) > 0.05  # a real rise over k


def test_objective_combines_terms_per_eq_13():
    model, x = _model("adgm"), _x()
    y = torch.arange(4) % 3
    torch.manual_seed(5)
    obj = semi_supervised_objective(model, x[:4], y, x[4:], alpha=2.0)
    expected = ((-obj.labelled.train_bound + 2.0 * obj.labelled.cross_entropy).sum()
                - obj.unlabelled.train_bound.sum()) / 8
    assert torch.allclose(obj.loss, expected)
    obj.loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert obj.labelled.probs.shape == (4, 3) and torch.allclose(obj.labelled.probs.sum(1), torch.ones(4))
    assert math.isfinite(float(obj.unlabelled.bound.mean()))


def test_batch_weighting_scales_the_labelled_terms():
    """`halves` weights the labelled and unlabelled means equally (the authors' code): w = B_u / B_l."""
    assert batch_weights("examples", 6, 100) == 1.0 and batch_weights("halves", 6, 100) == pytest.approx(100 / 6)
    assert batch_weights("halves", 100, 100) == 1.0  # MNIST's 100 + 100: the two rules agree
    with pytest.raises(ValueError, match="choose one of"):
        batch_weights("mean", 6, 100)
    model, x = _model("adgm"), _x()
    y = torch.arange(2) % 3
    torch.manual_seed(5)
    obj = semi_supervised_objective(model, x[:2], y, x[2:], alpha=2.0, labelled_weight=3.0)
    expected = (3.0 * (-obj.labelled.train_bound + 2.0 * obj.labelled.cross_entropy).sum()
                - obj.unlabelled.train_bound.sum()) / 8
    assert torch.allclose(obj.loss, expected)
