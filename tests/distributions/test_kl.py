import math

import pytest
import torch
from torch.distributions import Independent, Normal, StudentT, kl_divergence

from vaelab.distributions import StreamingLogMeanExp, has_analytic_kl, kl_estimate, kl_per_unit, log_mean_exp
from vaelab.distributions.kl import normal_kl


def _normal(mu, sd):
    return Independent(Normal(mu, sd), 1)


def test_analytic_and_monte_carlo_kl_agree():
    torch.manual_seed(0)
    q = _normal(torch.tensor([[0.3, -1.0, 2.0]]), torch.tensor([[0.5, 1.2, 0.8]]))
    p = _normal(torch.tensor([[0.0, 0.5, 1.0]]), torch.tensor([[1.0, 0.7, 2.0]]))
    z = q.sample((200000,))
    mc = (q.log_prob(z) - p.log_prob(z)).mean()
    assert has_analytic_kl(q, p)
    assert math.isclose(float(kl_estimate(q, p, z[0])), float(mc), abs_tol=0.02)
    assert torch.allclose(kl_per_unit(q, p, z[0]).sum(-1), kl_estimate(q, p, z[0]))


def test_written_out_normal_kl_equals_torch_registry():
    torch.manual_seed(1)
    mq, mp = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    sq, sp = torch.rand(2, 4, 3) + 0.1, torch.rand(2, 4, 3) + 0.1
    for dims in (1, 2):
        q, p = Independent(Normal(mq, sq), dims), Independent(Normal(mp, sp), dims)
        assert torch.allclose(normal_kl(q, p), kl_divergence(q, p), atol=1e-5)
    assert torch.allclose(normal_kl(Normal(mq, sq), Normal(mp, sp)), kl_divergence(Normal(mq, sq), Normal(mp, sp)),
                          atol=1e-5)
    assert normal_kl(Independent(Normal(mq, sq), 1), Independent(Normal(mp, sp), 2)) is None
    assert normal_kl(Independent(StudentT(5.0, mq, sq), 1), Independent(Normal(mp, sp), 1)) is None


def test_monte_carlo_fallback_when_no_closed_form():
    q = Independent(StudentT(5.0, torch.zeros(1, 2), torch.ones(1, 2)), 1)
    p = _normal(torch.zeros(1, 2), torch.ones(1, 2))
    z = torch.tensor([[0.5, -0.2]])
    assert not has_analytic_kl(q, p)
    assert torch.allclose(kl_estimate(q, p, z), q.log_prob(z) - p.log_prob(z))


def test_streaming_log_mean_exp_matches_one_piece():
    a = torch.randn(1000, 7) * 30
    acc = StreamingLogMeanExp()
    for chunk in a.split(333):
        acc.update(chunk)
    assert torch.allclose(acc.result(), log_mean_exp(a.double(), 0), atol=1e-9)
    with pytest.raises(ValueError):
        StreamingLogMeanExp().result()
