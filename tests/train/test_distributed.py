"""Data-parallel training: 2 processes with gloo on CPU against one process, same global batch."""

import json

import torch
import yaml

import pytest

from ddp_worker import job, long_job, resumed_job, stopped_job
from vaelab.cli import main
from vaelab.train import TrainingStopped, read_metrics, verify
from vaelab.train.distributed import Group, _mean_of, launch, shard


def test_shard_and_mean():
    idx = torch.arange(7)
    parts = [shard(idx, Group(r, 2)) for r in range(2)]
    assert torch.equal(torch.cat(parts), idx) and parts[0].shape[0] == 4
    assert _mean_of([{"a": 1.0, "n": 3, "l": [1.0, 3.0]}, {"a": 3.0, "n": 3, "l": [3.0, 5.0]}]) == \
        {"a": 2.0, "n": 3, "l": [2.0, 4.0]}


def test_two_processes_match_one_with_the_same_global_batch(tmp_path):
    job(str(tmp_path / "one"))
    launch(2, job, str(tmp_path / "two"))
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    two = torch.load(tmp_path / "two" / "checkpoint.pt", weights_only=True)
    assert two["world"] == 2 and len(two["rng_per_rank"]) == 2
    for k in one["model"]:  # tolerance: float summation order differs between one and two processes
        assert torch.allclose(one["model"][k], two["model"][k], atol=1e-4), k
    a, b = read_metrics(tmp_path / "one" / "metrics.jsonl"), read_metrics(tmp_path / "two" / "metrics.jsonl")
    assert abs(a[-1]["train_elbo"] - b[-1]["train_elbo"]) < 1e-3


def test_sigterm_to_the_launcher_stops_every_process_and_resume_is_exact(tmp_path):
    launch(2, long_job, str(tmp_path / "full"))
    with pytest.raises(TrainingStopped, match=f"resume with: vaelab train --resume {tmp_path / 'cut'} --nproc 2$"):
        launch(2, stopped_job, str(tmp_path / "cut"))  # the launcher passes its SIGTERM on to both processes
    stopped = verify(tmp_path / "cut" / "checkpoint.pt")
    assert 1 <= stopped["epoch"] < 20 and len(stopped["rng_per_rank"]) == 2
    assert len(stopped.get("in_epoch", {"ranks": [0, 0]})["ranks"]) == 2
    launch(2, resumed_job, str(tmp_path / "cut"))
    assert read_metrics(tmp_path / "full" / "metrics.jsonl") == read_metrics(tmp_path / "cut" / "metrics.jsonl")
    a, b = verify(tmp_path / "full" / "checkpoint.pt"), verify(tmp_path / "cut" / "checkpoint.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert all(torch.equal(x, y) for x, y in zip(a["rng_per_rank"], b["rng_per_rank"]))


TINY = {"data": {"name": "digits", "validation": 50},
        "model": {"family": "vae", "latent": [4, 2], "hidden": [16, 8], "batch_norm": False},
        "train": {"epochs": 3, "batch_size": 128, "threads": 1, "progress": False}}


def test_cli_nproc_resume_equals_uninterrupted(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(cfg), "--run-dir", str(full), "--nproc", "2"]) == 0
    assert main(["train", str(cfg), "--run-dir", str(part), "--nproc", "2", "--set", "train.epochs=2"]) == 0
    assert main(["train", "--resume", str(part), "--nproc", "1"]) == 2
    assert "resume it with --nproc 2" in capsys.readouterr().err
    assert main(["train", "--resume", str(part), "--nproc", "2", "--set", "train.epochs=3"]) == 0
    assert read_metrics(full / "metrics.jsonl") == read_metrics(part / "metrics.jsonl")
    assert sorted(p.name for p in full.iterdir()) == [".lock", "best.prev.pt", "best.pt", "checkpoint.prev.pt",
                                                      "checkpoint.pt", "config.yaml", "metrics.jsonl", "tensorboard"]
    assert json.loads(json.dumps(read_metrics(full / "metrics.jsonl")[-1]))["epoch"] == 3


def test_bad_nproc(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    assert main(["train", str(cfg), "--run-dir", str(tmp_path / "r"), "--nproc", "0"]) == 2
    assert "--nproc must be >= 1" in capsys.readouterr().err
