"""FlowPosterior: sampling and density agree (the density integrates to 1 on a 2D grid, and its moments match
the samples'), the cached log-density of a sample equals the one found by inversion, errors are clear."""

import pytest
import torch
from torch.distributions import Independent, Normal

from vaelab.distributions import FlowPosterior
from vaelab.layers import FlowSettings, make_flow
from vaelab.train import grid_points
from single_thread import one_thread  # noqa: F401 - the fixture, used through pytestmark

pytestmark = pytest.mark.usefixtures("one_thread")


def random_flow(kind, steps, seed):
    torch.manual_seed(seed)
    flow = make_flow(kind, 2, 0, FlowSettings(steps=steps, hidden=16)).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0.0, 0.8 if kind == "planar" else 0.4)
    return flow


def base(n, loc=(0.3, -0.2), scale=(0.9, 0.6)):
    loc = torch.tensor(loc, dtype=torch.float64).expand(n, 2)
    return Independent(Normal(loc, torch.tensor(scale, dtype=torch.float64).expand(n, 2)), 1)


@pytest.mark.parametrize("kind,steps,seed", [("iaf", 2, 0), ("iaf", 4, 1), ("planar", 4, 2), ("planar", 8, 3)])
def test_density_integrates_to_one_and_matches_samples(kind, steps, seed):
    flow = random_flow(kind, steps, seed)
    grid, cell = grid_points(lim=9.0, n=200)
    with torch.no_grad():
        density = flow.posterior(base(grid.shape[0])).log_prob(grid).exp()  # by inversion of the flow
        assert abs(float(density.sum()) * cell - 1.0) < 5e-3
        samples = flow.posterior(base(100000)).sample()
    grid_mean = (density[:, None] * grid).sum(0) * cell
    grid_second = (density[:, None] * grid ** 2).sum(0) * cell
    se = samples.std(0) / 100000 ** 0.5
    assert torch.all((samples.mean(0) - grid_mean).abs() < 5 * se + 1e-3), (samples.mean(0), grid_mean)
    assert torch.allclose((samples ** 2).mean(0), grid_second, rtol=0.02, atol=0.01)
    assert float(samples.std(0).min()) > 0.05  # a real, spread-out density, not a point


@pytest.mark.parametrize("kind", ["iaf", "planar"])
def test_log_prob_of_own_sample_is_cached_and_equals_inversion(kind):
    flow = random_flow(kind, 3, 4)
    q = flow.posterior(base(50))
    z = q.rsample()
    cached = q.log_prob(z)
    assert cached.requires_grad and cached.shape == (50,)
    assert torch.allclose(cached, q.log_prob(z.detach().clone()), atol=1e-8)  # the inverse path


def test_change_of_variables_by_hand_for_a_scaling():
    """z_T = 2 z_0: log q(z_T) = log q_0(z_T / 2) - D log 2."""
    q0 = base(3)
    q = FlowPosterior(q0, lambda z: (2 * z, torch.full(z.shape[:-1], 2 * torch.log(torch.tensor(2.0)).item(),
                                                        dtype=z.dtype)))
    z = q.rsample()
    assert torch.allclose(q.log_prob(z), q0.log_prob(z / 2) - 2 * torch.log(torch.tensor(2.0)))


def test_without_an_inverse_only_own_samples_have_a_density():
    q = FlowPosterior(base(3), lambda z: (z + 1, torch.zeros(z.shape[:-1], dtype=z.dtype)))
    z = q.rsample()
    q.log_prob(z)
    with pytest.raises(ValueError, match="no inverse: log_prob is defined only for the tensor returned"):
        q.log_prob(z.clone())
    with pytest.raises(NotImplementedError):
        q.mean  # noqa: B018 - no closed form: estimate from samples
    assert q.sample((5,)).shape == (5, 3, 2) and q.batch_shape == (3,) and q.event_shape == (2,)


def test_base_must_have_a_vector_event():
    with pytest.raises(ValueError, match="vector event"):
        FlowPosterior(Normal(torch.zeros(3), 1.0), lambda z: (z, z))
