"""What the semi-supervised batches hold: per-step binarisation, the class-sorted order, the unlabelled set."""

from __future__ import annotations

import pytest
import torch

from vaelab.data import split_labelled
from vaelab.models import MODELS, AuxiliaryParams
from vaelab.train import TrainSettings, fit
from vaelab.train import semisupervised as task
from vaelab.train.semisupervised import SemiSupervisedData

N, D = 44, 6
OBJECTIVE = task.semi_supervised_objective


def _xy(binary: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, D, generator=g)
    x = x.round() if binary else x  # binary inputs: binarising them changes nothing, so rows name examples
    return x, torch.randperm(N, generator=g) % 2


def _split(binary: bool = False, unlabelled_set: str = "rest"):
    return split_labelled(*_xy(binary), 2, 2, seed=0, unlabelled_set=unlabelled_set)


def _record(monkeypatch, tmp_path, split, epochs: int = 1, binarize_every: str = "epoch", **train):
    """(labelled rows, unlabelled rows) of every step of a fit() on `split`, batches of 4 + 10."""
    seen = []

    def spy(model, x_l, y_l, x_u, **kw):
        seen.append((x_l.clone(), x_u.clone()))
        return OBJECTIVE(model, x_l, y_l, x_u, **kw)

    monkeypatch.setattr(task, "semi_supervised_objective", spy)
    torch.manual_seed(0)
    model = MODELS["adgm"](D, AuxiliaryParams(classes=2, latent=2, auxiliary=2, hidden=(4,)))
    data = SemiSupervisedData(split, torch.zeros(0, D), torch.zeros(0, dtype=torch.long), binarize=True, beta=0.1,
                              labelled_batch=4, classify_samples=1, binarize_every=binarize_every)
    s = TrainSettings(epochs=epochs, batch_size=14, progress=False, seed=5, **train)
    run = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    fit(model, data, s, run, hooks=[])
    return seen


def _rows(x: torch.Tensor) -> list[tuple[float, ...]]:
    return sorted(tuple(r.tolist()) for r in x)


def test_default_batches_are_the_epoch_binarisation_bit_for_bit(monkeypatch, tmp_path):
    split = _split()
    seen = _record(monkeypatch, tmp_path, split)
    gen = torch.Generator().manual_seed(5)  # fit() seeds its data generator with train.seed
    x_l, x_u = torch.bernoulli(split.x_labelled, generator=gen), torch.bernoulli(split.x_unlabelled, generator=gen)
    batches = torch.randperm(x_u.shape[0], generator=gen).split(10)
    stream = torch.cat([torch.randperm(4, generator=gen) for _ in batches])[: 4 * len(batches)].view(-1, 4)
    assert len(seen) == len(batches) == 4
    for (got_l, got_u), idx_u, idx_l in zip(seen, batches, stream):
        assert torch.equal(got_l, x_l[idx_l]) and torch.equal(got_u, x_u[idx_u])


def test_per_step_binarisation_draws_a_fresh_mask_for_both_halves(monkeypatch, tmp_path):
    split = _split()
    epoch = _record(monkeypatch, tmp_path, split)
    step = _record(monkeypatch, tmp_path, split, binarize_every="step")
    assert all(set(torch.cat([l, u]).unique().tolist()) <= {0.0, 1.0} for l, u in step)
    # every batch holds the same 4 labelled examples: one mask per epoch, or a fresh one every step
    assert all(_rows(l) == _rows(epoch[0][0]) for l, _ in epoch)
    assert len({tuple(map(tuple, _rows(l))) for l, _ in step}) == len(step)
    assert not all(torch.equal(a[1], b[1]) for a, b in zip(epoch, step))
    again = _record(monkeypatch, tmp_path, split, binarize_every="step")
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(step, again))  # same seed


def test_sorted_order_streams_the_class_sorted_set_in_fixed_batches(monkeypatch, tmp_path):
    split = _split(binary=True)
    seen = _record(monkeypatch, tmp_path, split, epochs=2, unlabelled_order="sorted")
    order = torch.argsort(split.y_unlabelled, stable=True)
    expected = split.x_unlabelled[order].split(10)
    assert len(seen) == 2 * len(expected)
    for (_, got), want in zip(seen, list(expected) * 2):
        assert torch.equal(got, want)
    shuffled = _record(monkeypatch, tmp_path, split, epochs=1)
    assert not all(torch.equal(got, want) for (_, got), want in zip(shuffled, expected))


def test_unlabelled_set_all_keeps_the_labelled_examples_and_alpha():
    (x, y), rest, everything = _xy(), _split(), _split(unlabelled_set="all")
    assert rest.x_unlabelled.shape[0] == N - 4 and torch.equal(everything.x_unlabelled, x)
    assert torch.equal(everything.y_unlabelled, y) and torch.equal(everything.x_labelled, rest.x_labelled)
    assert everything.n_without_labels == rest.n_without_labels == N - 4
    assert everything.record(2, 0)["unlabelled_set"] == "all"
    for split in (rest, everything):  # alpha = beta (N_l + N_u) / N_l counts each training example once
        data = SemiSupervisedData(split, torch.zeros(0, D), torch.zeros(0), True, beta=2.0, labelled_batch=4)
        assert data.alpha == pytest.approx(2.0 * N / 4)
