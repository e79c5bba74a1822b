"""StepGuard's options of the ADGM authors' code: element-wise clipping after the norm clip, a coupled weight prior."""

import pytest
import torch
from torch import nn

from vaelab.config import ConfigError, config_from_dict
from vaelab.train import TrainSettings
from vaelab.train.loop import StepGuard


def _grads_after_step(settings: TrainSettings, model: nn.Module, loss_fn) -> dict[str, torch.Tensor]:
    """Run one guarded step with a learning rate of 0 (weights unchanged); the gradients it left."""
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    assert StepGuard(settings).step(model, opt, loss_fn(model)) is not None
    return {name: p.grad.clone() for name, p in model.named_parameters()}


def _vector_model(values):
    model = nn.Module()
    model.w = nn.Parameter(torch.tensor(values))
    return model


def test_value_clip_bounds_every_entry_of_a_huge_gradient():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    grads = _grads_after_step(TrainSettings(grad_clip_value=0.5), model,
                              lambda m: 1e6 * m(torch.randn(4, 6)).pow(2).sum())
    assert all(g.abs().max() <= 0.5 for g in grads.values())
    assert max(float(g.abs().max()) for g in grads.values()) == 0.5  # it did clip


def test_norm_clip_comes_before_the_value_clip():
    # d loss / d w = (100, 1): the norm clip to 5 gives about (5, 0.05), then the value clip (1, 0.05);
    # the other order would give (1, 1), whose norm is already below 5.
    loss = lambda m: (m.w * torch.tensor([100.0, 1.0])).sum()  # noqa: E731
    g = _grads_after_step(TrainSettings(grad_clip=5.0, grad_clip_value=1.0), _vector_model([0.0, 0.0]), loss)["w"]
    assert g[0] == pytest.approx(1.0) and g[1] == pytest.approx(5 / (100**2 + 1) ** 0.5, rel=1e-5)
    alone = _grads_after_step(TrainSettings(grad_clip=5.0), _vector_model([0.0, 0.0]), loss)["w"]
    assert alone[1] == pytest.approx(g[1]) and alone[0] == pytest.approx(5 * 100 / (100**2 + 1) ** 0.5, rel=1e-5)


def test_weight_prior_adds_lambda_w_to_weight_matrices_only():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Tanh(), nn.Linear(3, 2))
    x = torch.randn(8, 4)
    loss = lambda m: m(x).pow(2).mean()  # noqa: E731
    lam = 0.37
    plain = _grads_after_step(TrainSettings(), model, loss)
    prior = _grads_after_step(TrainSettings(weight_prior=lam), model, loss)
    params = dict(model.named_parameters())
    for name, p in params.items():
        expected = plain[name] + lam * p.detach() if p.ndim >= 2 else plain[name]
        assert torch.allclose(prior[name], expected, atol=1e-7), name
    assert {n for n, p in params.items() if p.ndim >= 2} == {"0.weight", "3.weight"}


def test_weight_prior_reaches_a_weight_without_gradient_and_is_clipped_with_the_loss():
    model = nn.Module()
    model.used, model.unused = nn.Parameter(torch.ones(2, 2)), nn.Parameter(torch.full((2, 2), 2.0))
    grads = _grads_after_step(TrainSettings(weight_prior=0.5, grad_clip=1e-3), model, lambda m: m.used.sum())
    assert torch.allclose(grads["unused"] / grads["used"], torch.full((2, 2), 1.0 / 1.5))  # 0.5*2 vs 1 + 0.5*1
    total = torch.cat([g.flatten() for g in grads.values()]).norm()
    assert float(total) == pytest.approx(1e-3, rel=1e-4)  # the prior's gradient was inside the norm clip


def test_defaults_change_nothing():
    torch.manual_seed(2)
    model = nn.Linear(3, 2)
    loss = lambda m: m(torch.ones(1, 3)).sum() * 1e4  # noqa: E731
    assert torch.equal(_grads_after_step(TrainSettings(), model, loss)["weight"], torch.ones(2, 3) * 1e4)


@pytest.mark.parametrize("key", ["grad_clip_value", "weight_prior"])
def test_negative_values_are_config_errors(key):
    with pytest.raises(ConfigError, match=f"train.{key} = -1.0 is impossible"):
        config_from_dict({"train": {key: -1}})
