"""benchmarks/snapshots.py: a run saved, lost with its machine, restored and resumed equals one never interrupted."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch

from tiny_configs import LVAE_TINY, write_config
from vaelab.runs import train_or_resume
from vaelab.train import LAST
from vaelab.train import read_metrics as _read
from vaelab.train.runlock import RunFolderBusy, RunLock

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def read_metrics(run: Path) -> list[dict]:
    return _read(run / "metrics.jsonl")


@pytest.fixture()
def snapshots(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("snapshots", BENCHMARKS / "snapshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(module, "SNAPSHOTS", tmp_path / "snapshots")
    return module


def _train(config: Path, run: Path, epochs: int) -> None:
    train_or_resume(config, run, [f"train.epochs={epochs}"])


def _weights(run: Path) -> dict:
    return torch.load(run / LAST, weights_only=False)["model"]


def test_saved_lost_restored_resumed_equals_uninterrupted(tmp_path, snapshots):
    config = write_config(tmp_path, LVAE_TINY, train={"epochs": 3})
    whole, cut = tmp_path / "runs" / "whole", tmp_path / "runs" / "group" / "cut"
    _train(config, whole, 3)
    _train(config, cut, 2)
    saved = snapshots.save(cut)
    assert saved == tmp_path / "snapshots" / "group" / "cut"
    assert {p.name for p in saved.iterdir()} >= {"checkpoint.pt", "config.yaml", "metrics.jsonl"}
    assert not list(saved.glob("*.prev.pt")) and not (saved / "tensorboard").exists()
    shutil.rmtree(cut)  # the machine is gone
    assert snapshots.snapshot_folders() == [cut.resolve()]
    assert snapshots.restore(cut) and not snapshots.restore(cut)  # a second restore finds nothing to do
    _train(config, cut, 3)
    assert len(read_metrics(cut)) == 3
    assert [r["train_elbo"] for r in read_metrics(cut)] == [r["train_elbo"] for r in read_metrics(whole)]
    for name, value in _weights(whole).items():
        assert torch.equal(value, _weights(cut)[name]), name


def test_restore_keeps_a_run_folder_that_is_ahead(tmp_path, snapshots):
    config = write_config(tmp_path, LVAE_TINY)
    run = tmp_path / "runs" / "r"
    _train(config, run, 1)
    snapshots.save(run)
    _train(config, run, 2)
    assert not snapshots.restore(run)
    assert len(read_metrics(run)) == 2


def test_save_refuses_a_run_being_written_and_keeps_the_weights_asked_for(tmp_path, snapshots):
    config = write_config(tmp_path, LVAE_TINY, train={"epochs": 1})
    run = tmp_path / "runs" / "r"
    _train(config, run, 1)
    with RunLock(run), pytest.raises(RunFolderBusy):
        snapshots.save(run)
    saved = snapshots.save(run, weights="none")
    assert not list(saved.glob("*.pt")) and (saved / "metrics.jsonl").is_file()
    saved = snapshots.save(run, weights="last")
    assert [p.name for p in saved.glob("*.pt")] == ["checkpoint.pt"]


def test_a_folder_outside_the_benchmark_runs_is_one_line(tmp_path, snapshots):
    with pytest.raises(SystemExit, match="is not under .*; give a run folder of the benchmarks"):
        snapshots.save(tmp_path / "elsewhere")
    with pytest.raises(SystemExit, match="is not under"):
        snapshots.restore(tmp_path / "elsewhere")
