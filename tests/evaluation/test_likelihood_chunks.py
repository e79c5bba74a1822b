"""L_K's chunking: memory bounded by batch_size * sample_chunk rows whatever K, small K packed into full chunks."""

import pytest
import torch

import vaelab.evaluation.likelihood as likelihood
from linear_gaussian import LinearGaussian


def _record_chunks(monkeypatch) -> list[int]:
    rows: list[int] = []
    original = likelihood.chunk_log_weights

    def recording(model, xb, samples):
        rows.append(xb.shape[0] * samples)
        return original(model, xb, samples)

    monkeypatch.setattr(likelihood, "chunk_log_weights", recording)
    return rows


@pytest.mark.parametrize("k", [1, 3, 8, 50])
def test_chunks_never_exceed_the_memory_bound_and_small_k_fills_them(monkeypatch, k):
    torch.manual_seed(0)
    model = LinearGaussian(exact=True)
    x = model.sample_x(37)
    rows = _record_chunks(monkeypatch)
    out = likelihood.log_likelihood(model, x, k=k, batch_size=4, sample_chunk=8)
    assert out.shape == (37,)
    assert max(rows) <= 4 * 8
    assert sum(rows) == 37 * k  # every example gets exactly k samples
    if k <= 8:  # k samples per example, 32 // k examples per chunk: all chunks but the last are full-sized
        assert all(r == (32 // k) * k for r in rows[:-1])
    # with the exact posterior every log weight is log p(x): chunking cannot change the estimate
    assert torch.allclose(out, model.exact_log_px(x), atol=1e-8)
