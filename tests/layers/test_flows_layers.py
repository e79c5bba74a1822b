"""MADE, IAF and planar steps: triangular Jacobians, log-determinants against autograd, inverses, initialisation."""

import math

import pytest
import torch
from torch.autograd.functional import jacobian

from vaelab.layers import MADE, FlowSettings, IAFStep, PlanarStep, make_flow
from single_thread import one_thread  # noqa: F401 - the fixture, used through pytestmark

pytestmark = pytest.mark.usefixtures("one_thread")


def randomise(module, scale=0.5, seed=0):
    """Every parameter to random values, so that no output layer sits at its zero initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module


def per_example_jacobian(f, z):
    """(N, D, D) Jacobians of a map applied row by row."""
    return torch.stack([jacobian(lambda v: f(v[None])[0], row) for row in z])


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_made_outputs_depend_only_on_earlier_inputs(dim, reverse):
    torch.manual_seed(0)
    made = randomise(MADE(dim, (13, 11), context_features=3, reverse=reverse).double())
    z, h = torch.randn(4, dim, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for out in (0, 1):  # m and s
        jac = per_example_jacobian(lambda v: made(v, h[:1].expand(v.shape[0], -1))[out], z)  # (N, D, D)
        order = made.degrees  # output i may depend on input j only when degree(j) < degree(i)
        allowed = order[None, :] < order[:, None]
        assert torch.all(jac[:, ~allowed] == 0)
        if dim > 1:
            assert torch.all(jac[:, allowed].abs().sum(0) > 0)  # and does depend on them


@pytest.mark.parametrize("reverse", [False, True])
def test_iaf_step_jacobian_is_triangular_with_sigma_on_the_diagonal(reverse):
    torch.manual_seed(1)
    step = randomise(IAFStep(5, (16, 16), context_features=4, reverse=reverse).double())
    z, h = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    for b in range(3):
        jac = jacobian(lambda v: step(v[None], h[b:b + 1])[0][0], z[b])  # (D, D): d z'_i / d z_j
        strict = torch.triu(jac, 1) if not reverse else torch.tril(jac, -1)  # later units in the ordering
        assert torch.all(strict == 0)
        m, s = step._gate(z[b:b + 1], h[b:b + 1])
        assert torch.allclose(torch.diagonal(jac), torch.sigmoid(s[0]), atol=1e-12)
        assert torch.count_nonzero(jac) > 5  # not merely diagonal


def flows_to_check():
    return [
        ("iaf", 2, 0), ("iaf", 4, 3), ("iaf", 3, 0),
        ("planar", 2, 0), ("planar", 3, 4), ("planar", 4, 0),
    ]


@pytest.mark.parametrize("kind,dim,context", flows_to_check())
def test_log_det_matches_autograd_and_inverse_recovers_z(kind, dim, context):
    torch.manual_seed(2)
    flow = make_flow(kind, dim, context, FlowSettings(steps=3, hidden=12)).double()
    randomise(flow, scale=0.6, seed=3)
    z = torch.randn(6, dim, dtype=torch.float64)
    h = torch.randn(6, context, dtype=torch.float64) if context else None
    z_t, log_det = flow(z, h)
    for b in range(6):
        hb = h[b:b + 1] if context else None
        jac = jacobian(lambda v: flow(v[None], hb)[0][0], z[b])
        assert math.isclose(float(log_det[b].detach()), float(torch.linalg.slogdet(jac)[1]), abs_tol=1e-9)
    z_back, log_det_back = flow.inverse(z_t, h)
    assert torch.allclose(z_back, z, atol=1e-8)
    assert torch.allclose(log_det_back, log_det, atol=1e-8)


def test_planar_constraint_keeps_steps_invertible_even_when_u_points_against_w():
    step = PlanarStep(2).double()
    with torch.no_grad():
        step.free.copy_(torch.tensor([-3.0, 0.0, 1.0, 0.0, 0.0], dtype=torch.float64))  # u = -3 w: w^T u = -3
    u_hat, w, _ = step.params(None)
    assert float((w * u_hat).sum().detach()) > -1.0
    z = torch.linspace(-4, 4, 101, dtype=torch.float64)[:, None] * torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    z_t, log_det = step(z)
    assert torch.all(torch.diff(z_t[:, 0]) > 0)  # monotone along w, hence invertible
    assert torch.all(torch.isfinite(log_det))


def test_zero_parameters_planar_is_identity():
    flow = make_flow("planar", 3, 5, FlowSettings(steps=4))
    with torch.no_grad():
        for p in flow.parameters():
            p.zero_()
    z, h = torch.randn(7, 3), torch.randn(7, 5)
    z_t, log_det = flow(z, h)
    assert torch.equal(z_t, z) and torch.equal(log_det, torch.zeros(7))


def test_zero_parameters_iaf_is_the_gate_contraction_and_identity_in_the_limit():
    """The gated update cannot be the exact identity with finite parameters: sigma = 1 needs s = +inf.
    With every parameter at zero each step is z' = sigmoid(gate_bias) * z, and as the gate bias grows
    the flow tends to the identity."""
    flow = make_flow("iaf", 4, 3, FlowSettings(steps=3, hidden=8))
    with torch.no_grad():
        for p in flow.parameters():
            p.zero_()
    z, h = torch.randn(5, 4), torch.randn(5, 3)
    z_t, log_det = flow(z, h)
    sigma = torch.sigmoid(torch.tensor(2.0))
    assert torch.allclose(z_t, sigma ** 3 * z, atol=1e-6)
    assert torch.allclose(log_det, torch.full((5,), 12 * float(torch.log(sigma))), atol=1e-5)
    for step in flow.steps:
        step.gate_bias = 40.0
    z_t, log_det = flow(z, h)
    assert torch.allclose(z_t, z, atol=1e-6) and torch.allclose(log_det, torch.zeros(5), atol=1e-6)


def test_fresh_iaf_starts_at_the_gate_contraction():
    """Output layers start at zero (Kingma et al.'s near-identity start), whatever the hidden weights."""
    flow = make_flow("iaf", 3, 2, FlowSettings(steps=2, hidden=8))
    z = torch.randn(4, 3)
    z_t, _ = flow(z, torch.randn(4, 2))
    assert torch.allclose(z_t, torch.sigmoid(torch.tensor(2.0)) ** 2 * z, atol=1e-6)


def test_steps_broadcast_samples_over_a_per_example_context():
    torch.manual_seed(4)
    for kind in ("iaf", "planar"):
        flow = randomise(make_flow(kind, 3, 2, FlowSettings(steps=2, hidden=8)), seed=5)
        z, h = torch.randn(6, 4, 3), torch.randn(4, 2)  # (S, N, D) samples, (N, C) context
        z_t, log_det = flow(z, h)
        assert z_t.shape == (6, 4, 3) and log_det.shape == (6, 4)
        assert torch.allclose(z_t[2], flow(z[2], h)[0], atol=1e-6)


def test_bad_flow_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown flow 'maf'"):
        make_flow("maf", 2, 0, FlowSettings())
    with pytest.raises(ValueError, match="steps >= 1"):
        make_flow("iaf", 2, 0, FlowSettings(steps=0))
    with pytest.raises(ValueError, match="context h exactly when"):
        make_flow("iaf", 2, 3, FlowSettings())(torch.randn(1, 2))
    with pytest.raises(ValueError, match="context h exactly when"):
        make_flow("planar", 2, 0, FlowSettings())(torch.randn(1, 2), torch.randn(1, 3))
