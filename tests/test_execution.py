"""Execution settings change speed, never the maths: devices, precision, compile, fused Adam, checks."""

import pytest
import torch
from torch.distributions import Distribution, Normal

from vaelab.execution import Execution, ExecutionError, distribution_checks, resolve_device, resolve_precision
from vaelab.models import LadderVAE
from vaelab.models.hierarchy import HierarchyParams
from vaelab.objectives import elbo
from vaelab.train import TrainSettings


def _model(seed: int = 0, batch_norm: bool = True) -> LadderVAE:
    torch.manual_seed(seed)
    return LadderVAE(12, HierarchyParams(latent=(3, 2), hidden=(16, 8), batch_norm=batch_norm))


def _x() -> torch.Tensor:
    return torch.rand(32, 12, generator=torch.Generator().manual_seed(3)).bernoulli()


def test_devices_and_precisions_resolve_or_say_what_to_choose():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_precision("auto", torch.device("cpu")) == "float32"
    assert resolve_precision("auto", torch.device("cuda")) == "float32"  # bf16 only where asked for
    with pytest.raises(ExecutionError, match="auto, cpu, cuda"):
        resolve_device("tpu")
    with pytest.raises(ExecutionError, match="choose"):
        resolve_precision("fp8", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(ExecutionError, match="no GPU"):
            resolve_device("cuda")


def test_settings_reject_unknown_device_and_precision():
    with pytest.raises(ValueError, match="train.device"):
        TrainSettings(device="gpu")
    with pytest.raises(ValueError, match="train.precision"):
        TrainSettings(precision="half")


def test_distribution_checks_switch_off_inside_the_block_and_are_restored():
    before = Distribution._validate_args
    with distribution_checks(False):
        Normal(torch.zeros(1), -torch.ones(1))  # an invalid scale passes unchecked
        with distribution_checks(True):
            with pytest.raises(ValueError):
                Normal(torch.zeros(1), -torch.ones(1))
    assert Distribution._validate_args == before


def test_fused_adam_takes_the_same_steps_as_the_loop():
    # without batch-norm: a bias in front of batch-norm has a zero true gradient, and Adam turns its
    # rounding noise into full-size steps that differ between any two kernels
    results = []
    for fused in (False, True):
        model, x = _model(batch_norm=False), _x()
        ex = Execution.create(device="cpu", fused_adam=fused)
        opt = ex.optimizer(model.parameters(), 1e-2)
        for step in range(5):
            torch.manual_seed(10 + step)
            opt.zero_grad()
            elbo(model, x).loss.backward()
            opt.step()
        results.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.allclose(results[0], results[1], atol=1e-5)


def test_bf16_autocast_gives_nearly_the_float32_bound():
    model, x = _model(), _x()
    values = []
    for precision in ("float32", "bf16"):
        ex = Execution.create(device="cpu", precision=precision)
        torch.manual_seed(5)
        with torch.no_grad(), ex.running():
            obj = ex.objective(elbo)(model, x)
        values.append(float(obj.loss))
        assert not torch.is_autocast_enabled("cpu")  # the autocast block ends with the call
    assert values[1] == pytest.approx(values[0], rel=0.02)
    assert values[1] != values[0]  # it did run in bf16


def test_bf16_training_follows_float32_training():
    """Optimiser steps change what the next bf16 forward pass sees (an autocast block held across steps
    would keep serving the first step's bf16 copies of the weights)."""
    g = torch.Generator().manual_seed(4)
    prototypes = torch.rand(4, 12, generator=g).round()
    x = (prototypes[torch.randint(0, 4, (512,), generator=g)] - 0.9).abs().bernoulli(generator=g)  # 10% flips
    x = 1 - x
    finals = {}
    for precision in ("float32", "bf16"):
        model = _model(seed=2)
        ex = Execution.create(device="cpu", precision=precision)
        opt, objective = ex.optimizer(model.parameters(), 3e-2), ex.objective(elbo)
        losses = []
        with ex.running():
            for step, xb in enumerate(x.split(64) * 5):
                torch.manual_seed(step)
                obj = objective(model, xb)
                opt.zero_grad()
                obj.loss.backward()
                opt.step()
                losses.append(float(obj.loss))
        finals[precision] = sum(losses[-8:]) / 8
        assert finals[precision] < 0.9 * sum(losses[:8]) / 8  # it learns
    assert finals["bf16"] == pytest.approx(finals["float32"], rel=0.03)


@torch._inductor.config.patch(fallback_random=True)  # compiled code draws its noise as eager code does
def test_compiled_objective_equals_eager_and_serves_every_beta():
    graphs = torch._dynamo.utils.counters["stats"]
    model, x = _model(), _x()
    ex = Execution.create(device="cpu", compile=True)
    compiled = ex.objective(elbo)
    assert ex.objective(elbo) is compiled  # compiled once per objective
    for i, beta in enumerate((0.1, 0.7, 1.0)):
        torch.manual_seed(7)
        eager = elbo(model, x, beta=beta)
        torch.manual_seed(7)
        with ex.running():
            fast = compiled(model, x, beta=beta)
        assert torch.allclose(fast.loss, eager.loss, atol=1e-4)
        assert torch.allclose(fast.bound, eager.bound, atol=1e-4)
        assert fast.kl_per_layer.keys() == eager.kl_per_layer.keys()
        if i == 0:
            compiled_graphs = graphs["unique_graphs"]
    assert graphs["unique_graphs"] == compiled_graphs  # no recompilation for a new beta
    assert Execution.create(device="cpu").objective(elbo) is elbo


def _fit_records(tmp_path, name, epochs, resume=False, **settings):
    from vaelab.train import TrainData, fit

    model = _model()
    gen = torch.Generator().manual_seed(4)
    data = TrainData(torch.rand(48, 12, generator=gen), torch.rand(8, 12, generator=gen).bernoulli(), binarize=True)
    s = TrainSettings(epochs=epochs, batch_size=16, progress=False, device="cpu", **settings)
    return fit(model, data, s, tmp_path / name, resume=resume)


@torch._inductor.config.patch(fallback_random=True)
def test_compiled_training_matches_eager_and_resumes_exactly(tmp_path):
    # one compilation serves all three runs: dynamo's cache holds for any model of the same structure
    eager = _fit_records(tmp_path, "eager", 2)
    compiled = _fit_records(tmp_path, "compiled", 2, compile=True)
    _fit_records(tmp_path, "resumed", 1, compile=True)
    resumed = _fit_records(tmp_path, "resumed", 2, resume=True, compile=True)
    for a, b in zip(eager, compiled):
        assert a["train_elbo"] == pytest.approx(b["train_elbo"], abs=1e-3)
    assert resumed[-1]["train_elbo"] == compiled[-1]["train_elbo"]
    assert resumed[-1]["val_elbo"] == compiled[-1]["val_elbo"]
