"""train.label_weights: the classifier per sample of a (eq. 17) or averaged over the samples (qbar)."""

import pytest
import torch
from torch.distributions import Normal

from labelled_gaussian import LabelledGaussian
from vaelab.models import MODELS, AuxiliaryParams
from vaelab.objectives.label_weighting import LABEL_WEIGHTINGS, label_weighting
from vaelab.objectives.semisupervised import labelled_bound, semi_supervised_objective, unlabelled_bound

S, B = 4, 8


def _adgm(seed=0):
    torch.manual_seed(seed)
    params = AuxiliaryParams(classes=3, latent=3, auxiliary=2, hidden=(16, 16))
    return MODELS["adgm"](6, params).eval()


def _x(n=B):
    return torch.rand(n, 6, generator=torch.Generator().manual_seed(1)).bernoulli()


@pytest.fixture
def noise_by_sample(monkeypatch):
    """Every Normal draw is loc + scale * eps[s, b], eps fixed per (sample, example) and not per class.

    Rows are sample-major (s * B + b), and enumerated rows class-major ((c * S + s) * B + b), so the enumerated
    pass and a labelled pass with y = c see the same a_s and z_cs: their terms can be compared row for row.
    """
    eps = torch.randn(S * B, 16, generator=torch.Generator().manual_seed(7))

    def draw(self, sample_shape=torch.Size()):
        shape = self._extended_shape(sample_shape)
        rows = torch.arange(shape[:-1].numel()) % (S * B)
        return self.loc.expand(shape) + self.scale.expand(shape) * eps[rows, :shape[-1]].view(shape)
    monkeypatch.setattr(Normal, "rsample", draw)
    monkeypatch.setattr(Normal, "sample", draw)


def test_averaged_is_sum_y_qbar_mean_f_plus_entropy_of_qbar(noise_by_sample):
    model, x = _adgm(), _x()
    got = unlabelled_bound(model, x, samples=S, label_weights="averaged").bound
    f_mean, qbar = torch.zeros(3, B), torch.zeros(3, B)
    for c in range(3):
        terms = labelled_bound(model, x, torch.full((B,), c), samples=S)
        f_mean[c] = terms.bound  # (1/S) sum_s f(x, c, a_s, z_cs)
        qbar[c] = terms.probs[:, c]  # (1/S) sum_s q(c | a_s, x)
    expected = (qbar * f_mean).sum(0) - (qbar * qbar.log()).sum(0)
    assert torch.allclose(got, expected, atol=1e-4), (got, expected)
    per_sample = unlabelled_bound(model, x, samples=S).bound
    assert not torch.allclose(got, per_sample, atol=1e-3)  # the draws of a differ, so the two rules do


def test_averaged_cross_entropy_is_minus_log_qbar(noise_by_sample):
    model, x, y = _adgm(), _x(), torch.arange(B) % 3
    averaged = labelled_bound(model, x, y, samples=S, label_weights="averaged")
    per_sample = labelled_bound(model, x, y, samples=S)
    assert torch.allclose(averaged.cross_entropy, -averaged.probs[torch.arange(B), y].log(), atol=1e-5)
    assert (averaged.cross_entropy <= per_sample.cross_entropy + 1e-6).all()  # Jensen
    assert (averaged.cross_entropy < per_sample.cross_entropy - 1e-4).any()
    assert torch.equal(averaged.bound, per_sample.bound)  # -L(x, y) itself is the same


def _objective_and_grads(model, x, rule):
    torch.manual_seed(5)
    obj = semi_supervised_objective(model, x[:3], torch.arange(3), x[3:], alpha=2.0, samples=1, label_weights=rule)
    grads = torch.autograd.grad(obj.loss, list(model.parameters()), allow_unused=True)
    return obj.loss.detach(), [g for g in grads if g is not None]


def test_with_one_sample_the_rules_agree_with_gradients():
    model, x = _adgm(seed=2), _x()
    loss_p, grads_p = _objective_and_grads(model, x, "per_sample")
    loss_a, grads_a = _objective_and_grads(model, x, "averaged")
    assert torch.allclose(loss_p, loss_a, atol=1e-6)
    assert len(grads_p) == len(grads_a) > 0
    assert all(torch.allclose(gp, ga, atol=1e-5) for gp, ga in zip(grads_p, grads_a))


def test_averaged_is_exact_with_exact_posteriors():
    torch.manual_seed(0)
    model = LabelledGaussian()
    x = torch.randn(10, 4, dtype=torch.float64) * 2
    log_px = torch.logsumexp(model.log_pxy(x), 1)
    assert torch.allclose(unlabelled_bound(model, x, samples=3, label_weights="averaged").bound, log_px, atol=1e-8)


def test_authors_rule_averages_the_unlabelled_classifier_and_keeps_the_labelled_one_per_sample(noise_by_sample):
    model, x, y = _adgm(), _x(), torch.arange(B) % 3
    authors = unlabelled_bound(model, x, samples=S, label_weights="authors").bound
    assert torch.allclose(authors, unlabelled_bound(model, x, samples=S, label_weights="averaged").bound)
    ce = labelled_bound(model, x, y, samples=S, label_weights="authors").cross_entropy
    assert torch.allclose(ce, labelled_bound(model, x, y, samples=S).cross_entropy)
    assert not torch.allclose(ce, labelled_bound(model, x, y, samples=S, label_weights="averaged").cross_entropy)


def test_unknown_rule_is_a_clear_error():
    assert set(LABEL_WEIGHTINGS) == {"per_sample", "averaged", "authors"}
    expected = r"unknown train.label_weights 'mean'; choose one of \['authors', 'averaged', 'per_sample'\]"
    with pytest.raises(ValueError, match=expected):
        label_weighting("mean")
    with pytest.raises(ValueError, match="choose one of"):
        unlabelled_bound(_adgm(), _x(), label_weights="mean")
