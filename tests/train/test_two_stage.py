"""Algorithm 1 of the Balancing-ELBO paper: the plateau test, the switch, the floor, and exact resume across it."""

import math

import pytest
import torch

from vaelab.layers.decoder_variance import GaussianInputVariance
from vaelab.models import MODELS, HierarchyParams
from vaelab.train import TrainData, TrainSettings, fit, read_metrics
from vaelab.objectives import elbo
from vaelab.train.decoder_variance_hooks import ClosedFormVariance, PlateauTest, TwoStageSwitch


def _first_pass(test: PlateauTest, values):
    for epoch, v in enumerate(values, start=1):
        if test.update(v):
            return epoch
    return None


def test_plateau_test_passes_after_patience_epochs_without_relative_gain():
    # gains: +50, +10, +0.03 and +0.01 (below 0.1% of |best| = 0.04), then a large one
    values = [-100.0, -50.0, -40.0, -39.97, -39.96, -10.0]
    assert _first_pass(PlateauTest(patience=2, tolerance=1e-3), values) == 5
    assert _first_pass(PlateauTest(patience=1, tolerance=1e-3), values) == 4
    assert _first_pass(PlateauTest(patience=3, tolerance=1e-3), values) is None
    assert _first_pass(PlateauTest(patience=3, tolerance=1e-3, max_epochs=2), values) == 2
    assert _first_pass(PlateauTest(patience=1, tolerance=0.0), [1.0, 1.0]) == 2  # no gain at all is a stall
    assert _first_pass(PlateauTest(patience=1, tolerance=0.0), [1.0, 0.5]) == 2  # neither is a fall


def _data(n=120, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(4, d, generator=g)
    x = base[torch.randint(0, 4, (n,), generator=g)] * 0.8 + 0.2 * torch.rand(n, d, generator=g)
    return TrainData(train=x, val=x[:20].clone(), binarize=False)


def _model():
    torch.manual_seed(0)
    return MODELS["vae"](16, HierarchyParams(latent=(3,), hidden=(24,), batch_norm=False, observation="gaussian_input"))


def _settings(epochs, **kw):
    return TrainSettings(epochs=epochs, batch_size=32, progress=False, variance_switch_patience=2, **kw)


def test_switch_happens_when_the_test_says_and_the_variance_stays_above_the_floor(tmp_path):
    model = _model()
    records = fit(model, _data(), _settings(8, variance_switch_max_epochs=4, variance_switch_tolerance=0.0),
                  tmp_path)
    test = PlateauTest(patience=2, tolerance=0.0, max_epochs=4)
    expected = _first_pass(test, [r["train_elbo"] for r in records])
    assert expected is not None
    assert [r["stage_switch_epoch"] for r in records] == [0] * (expected - 1) + [expected] * (9 - expected)
    assert [r["observation_stage"] for r in records] == [1] * (expected - 1) + [2] * (9 - expected)
    floor = records[expected - 1]["obs_variance_floor"]
    assert floor == pytest.approx(records[expected - 2]["obs_variance"], rel=0.5)  # sigma*^2 from stage one
    head = next(m for m in model.modules() if isinstance(m, GaussianInputVariance))
    assert head.lower_bound == pytest.approx(floor)
    with torch.no_grad():
        variance = model(_data().train).px.variance
    assert bool((variance >= floor).all())
    assert float(variance.max() - variance.min()) > 1e-3 * floor  # input- and pixel-dependent above it


def test_closed_form_hook_sets_sigma2_to_the_mse_of_the_step_batch():
    model, x = _model(), _data().train[:32]
    torch.manual_seed(5)
    mse = float(((x - model(x).px.mean.detach()) ** 2).mean())  # the same draw of z as the objective below
    torch.manual_seed(5)
    obj = elbo(model, x, eq_samples=1)
    head = next(m for m in model.modules() if isinstance(m, GaussianInputVariance))
    ClosedFormVariance([head]).after_step(model, x, obj)
    assert float(head.global_variance) == pytest.approx(mse, rel=1e-4)


def test_resume_across_the_stage_switch_repeats_the_uninterrupted_run(tmp_path):
    s = lambda epochs: _settings(epochs, variance_switch_max_epochs=2)  # noqa: E731
    fit(_model(), _data(), s(4), tmp_path / "straight")
    fit(_model(), _data(), s(1), tmp_path / "cut")  # killed before the switch ...
    fit(_model(), _data(), s(3), tmp_path / "cut", resume=True)  # ... switches at 2, killed after it ...
    fit(_model(), _data(), s(4), tmp_path / "cut", resume=True)  # ... and finishes
    a, b = read_metrics(tmp_path / "straight" / "metrics.jsonl"), read_metrics(tmp_path / "cut" / "metrics.jsonl")
    assert [r["stage_switch_epoch"] for r in a] == [0, 2, 2, 2]
    assert a == b
    assert all(math.isfinite(r["train_elbo"]) for r in a)


def test_the_floor_is_the_closed_form_sigma2_at_the_end_of_stage_one_and_stays_frozen():
    """Algorithm 1 (section 3.4): the optimised global *variance* of stage one, as it stands when the
    convergence test passes, bounds the predicted variance from below; stage two no longer updates it."""
    model, x = _model(), _data().train[:32]
    head = next(m for m in model.modules() if isinstance(m, GaussianInputVariance))
    closed, switch = ClosedFormVariance([head]), TwoStageSwitch([head], PlateauTest(patience=1, tolerance=0.0))
    for epoch, elbo_value in enumerate([-10.0, -10.0], start=1):  # no gain in epoch 2: the test passes there
        torch.manual_seed(epoch)
        closed.after_step(model, x, elbo(model, x, eq_samples=1))
        at_epoch_end = float(head.global_variance)
        switch.after_epoch(model, epoch, {"train_elbo": elbo_value})
    assert switch.switch_epoch == 2 and not head.closed_form_active
    assert head.lower_bound == at_epoch_end
    closed.after_step(model, x, elbo(model, x, eq_samples=1))  # a stage-two step leaves sigma*^2 alone
    assert float(head.global_variance) == at_epoch_end
    with torch.no_grad():
        variance = model(x).px.variance
    assert float(variance.min()) >= at_epoch_end  # sigma^2_d(z) >= sigma*^2, not sigma_d(z) >= sigma*
