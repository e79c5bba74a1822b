"""Checkpoints prove themselves: a digest checked on load, a previous version used only when asked, a full disk
that leaves the last checkpoint intact, and files crafted to run code refused unopened."""

from __future__ import annotations

import errno
import hashlib
import os
import pickle

import pytest
import torch

from tiny_configs import LVAE_TINY, write_config
from vaelab.cli import main
from vaelab.files import DamagedFileError, file_digest, verify_file
from vaelab.train import CheckpointError, load_checkpoint, read_metrics, verify
from vaelab.train import checkpoint as checkpoint_module
from vaelab.train.checkpoint import content_digest, save_atomic

@pytest.fixture
def config(tmp_path):
    return str(write_config(tmp_path, LVAE_TINY, train={"epochs": 3}))


def _error(capsys, argv) -> str:
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vaelab: error: ") and "\n" not in err and "Traceback" not in err
    return err


def _tamper(path) -> None:
    """Change one weight and write the file back as torch.save would, keeping the old digest."""
    state = torch.load(path, weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] + 1e-3
    torch.save(state, path)


def _same_weights(a, b) -> bool:
    wa, wb = verify(a)["model"], verify(b)["model"]
    return all(torch.equal(wa[k], wb[k]) for k in wa)


def test_digest_is_checked_and_names_the_file(config, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", config, "--run-dir", str(run)]) == 0
    state = verify(run / "checkpoint.pt")
    digest = state.pop("sha256")
    assert len(digest) == 64 and digest == content_digest(state)
    _tamper(run / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="checkpoint .*checkpoint.pt is damaged: its SHA-256 digest"):
        load_checkpoint(run / "checkpoint.pt")
    err = _error(capsys, ["evaluate", run, "--checkpoint", "last"])
    assert f"checkpoint {run / 'checkpoint.pt'} is damaged" in err
    assert f"the previous checkpoint {run / 'checkpoint.prev.pt'} is kept: add --fallback-checkpoint" in err
    raw = bytearray((run / "best.pt").read_bytes())  # damage on disk: bytes flipped in the middle of the file
    raw[len(raw) // 2: len(raw) // 2 + 8] = bytes(8)
    (run / "best.pt").write_bytes(bytes(raw))
    assert str(run / "best.pt") in _error(capsys, ["evaluate", run])


def test_fallback_only_when_asked_and_said(config, tmp_path, capsys):
    full, run = tmp_path / "full", tmp_path / "run"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    assert main(["train", config, "--run-dir", str(run)]) == 0
    assert verify(run / "checkpoint.prev.pt")["epoch"] == 2 and verify(run / "checkpoint.pt")["epoch"] == 3
    _tamper(run / "checkpoint.pt")
    _tamper(run / "best.pt")
    damaged = (run / "checkpoint.pt").read_bytes()
    assert "--fallback-checkpoint" in _error(capsys, ["train", "--resume", run])
    assert main(["evaluate", str(run), "--fallback-checkpoint", "--limit", "20"]) == 0  # a reader changes nothing
    assert f"using the previous checkpoint {run / 'best.prev.pt'}" in capsys.readouterr().err
    assert (run / "checkpoint.pt").read_bytes() == damaged
    assert main(["train", "--resume", str(run), "--fallback-checkpoint"]) == 0  # epoch 3 again, from epoch 2
    err = capsys.readouterr().err
    assert f"using the previous checkpoint {run / 'checkpoint.prev.pt'} (epoch 2) instead" in err
    assert f"the damaged checkpoint is kept as {run / 'checkpoint.pt.damaged'}" in err
    assert (run / "checkpoint.pt.damaged").read_bytes() == damaged
    assert read_metrics(full / "metrics.jsonl") == read_metrics(run / "metrics.jsonl")
    assert _same_weights(full / "checkpoint.pt", run / "checkpoint.pt")
    assert verify(run / "checkpoint.prev.pt")["epoch"] == 2  # good previous checkpoints again
    assert verify(run / "best.prev.pt")["epoch"] == 2  # not the damaged best.pt


def test_full_disk_keeps_the_last_checkpoint_and_says_so(config, tmp_path, monkeypatch, capsys):
    full, run = tmp_path / "full", tmp_path / "run"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    assert main(["train", config, "--run-dir", str(run), "--set", "train.epochs=1"]) == 0
    before = (run / "checkpoint.pt").read_bytes()
    real_save = torch.save

    def save_until_full(obj, f):
        if ".checkpoint.pt." in os.readlink(f"/proc/self/fd/{f.fileno()}"):  # full half-way through checkpoint.pt
            f.write(before[: len(before) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(checkpoint_module.torch, "save", save_until_full)
    err = _error(capsys, ["train", "--resume", run, "--set", "train.epochs=3"])
    assert err == (f"vaelab: error: no space left on the disk while writing {run / 'checkpoint.pt'} (No space left "
                   f"on device); the previous checkpoint.pt is intact; free some space, then resume with: "
                   f"vaelab train --resume {run}")
    assert (run / "checkpoint.pt").read_bytes() == before and verify(run / "checkpoint.pt")["epoch"] == 1
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert main(["train", "--resume", str(run), "--set", "train.epochs=3"]) == 0
    assert read_metrics(full / "metrics.jsonl") == read_metrics(run / "metrics.jsonl")
    assert _same_weights(full / "checkpoint.pt", run / "checkpoint.pt")


class RunsCode:
    """Unpickling it would call open(marker, "w"): plain torch.load(weights_only=False) creates the file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_a_checkpoint_that_would_run_code_is_refused(config, tmp_path, capsys, writer):
    run, marker = tmp_path / "run", tmp_path / "marker"
    assert main(["train", config, "--run-dir", str(run), "--set", "train.epochs=1"]) == 0
    evil = {"format": 2, "epoch": 1, "model": RunsCode(marker)}
    for name in ("checkpoint.pt", "best.pt", "checkpoint.prev.pt", "best.prev.pt"):
        with (run / name).open("wb") as f:
            torch.save(evil, f) if writer == "torch" else pickle.dump(evil, f, protocol=2)
    with pytest.raises(CheckpointError, match="refused|damaged or not a vaelab checkpoint"):
        load_checkpoint(run / "best.pt")
    err = _error(capsys, ["evaluate", run])
    assert str(run / "best.pt") in err and ("refused" in err or "not a vaelab checkpoint" in err)
    assert "--fallback-checkpoint" in _error(capsys, ["train", "--resume", run, "--set", "train.epochs=2"])
    assert "previous one" in _error(capsys, ["sample", run, "--fallback-checkpoint"])
    assert not marker.exists()


def test_legacy_checkpoints_without_digest_still_load(tmp_path):
    state = {"format": 1, "epoch": 4, "model": {"w": torch.ones(2)}, "metadata": {}}
    torch.save(state, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt")["epoch"] == 4
    torch.save({**state, "format": 2, "sha256": "0" * 64}, tmp_path / "forged.pt")
    with pytest.raises(CheckpointError, match="damaged"):
        load_checkpoint(tmp_path / "forged.pt")
    save_atomic({**state}, tmp_path / "new.pt")
    assert verify(tmp_path / "new.pt")["format"] == 2


def test_file_digest_and_verify_file_for_other_formats(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"weights" * 1000)
    digest = file_digest(path)
    assert digest == hashlib.sha256(b"weights" * 1000).hexdigest()
    verify_file(path, digest)
    verify_file(path, digest.upper())
    path.write_bytes(b"weights" * 999 + b"weighTs")
    with pytest.raises(DamagedFileError, match=f"{path} is damaged: its SHA-256 digest is"):
        verify_file(path, digest)
    with pytest.raises(DamagedFileError, match="is missing"):
        verify_file(tmp_path / "absent", digest)
