"""Fitting a flow to an unnormalised density on R^2: the bound on log Z against a known normaliser."""

import math

import pytest
import torch

from vaelab.layers import FlowSettings, make_flow
from vaelab.train import fit_density, grid_log_normaliser
from vaelab.train.density_fit import annealing
from single_thread import one_thread  # noqa: F401 - the fixture, used through pytestmark

pytestmark = pytest.mark.usefixtures("one_thread")

MEAN = torch.tensor([1.0, -0.5])
COV = torch.tensor([[0.5, 0.3], [0.3, 0.4]])
OFFSET = 2.5  # log f = log N(z; MEAN, COV) + OFFSET, so log Z = OFFSET


PRECISION = torch.linalg.inv(COV)
LOG_NORM = -math.log(2 * math.pi) - 0.5 * math.log(float(torch.linalg.det(COV)))


def log_f(z):
    d = z - MEAN.to(z.dtype)
    return -0.5 * ((d @ PRECISION.to(z.dtype)) * d).sum(-1) + LOG_NORM + OFFSET


def test_grid_normaliser_of_a_known_density():
    assert math.isclose(grid_log_normaliser(log_f, lim=6.0, n=400), OFFSET, abs_tol=1e-4)


@pytest.mark.parametrize("kind,steps,learn_base", [("iaf", 2, False), ("iaf", 2, True), ("planar", 8, False)])
def test_fit_bounds_log_z_from_below_and_gets_close(kind, steps, learn_base):
    torch.manual_seed(0)
    flow = make_flow(kind, 2, 0, FlowSettings(steps=steps, hidden=16))
    fit = fit_density(log_f, flow, steps=400, batch=128, lr=1e-2, n_eval=20000, seed=1, learn_base=learn_base)
    tolerance = 0.03
    assert fit.bound <= OFFSET + 3 * fit.bound_se  # a lower bound, up to Monte Carlo noise
    assert fit.bound > OFFSET - tolerance, (fit.bound, fit.iw_bound)
    assert fit.bound - 3 * fit.bound_se <= fit.iw_bound <= OFFSET + 0.01
    assert fit.history[-1] > fit.history[0]
    assert learn_base == (float(fit.base.loc.detach().abs().sum()) > 0.1)  # the base moved only when learned
    z = fit.posterior(5).sample()
    assert z.shape == (5, 2) and fit.posterior(5).log_prob(z).shape == (5,)


def test_annealing_schedule_and_bad_arguments():
    assert annealing(0, 100) == 0.01 and annealing(50, 100) == 0.51 and annealing(500, 100) == 1.0
    assert annealing(0, 0) == 1.0
    with pytest.raises(ValueError, match="n_eval >= 2"):
        fit_density(log_f, make_flow("planar", 2, 0, FlowSettings()), n_eval=1)
