"""One writer per run folder: a second writer stops at once naming the holder; readers go on; kill -9 frees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ddp_worker import job
from tiny_configs import LVAE_TINY, write_config
from vaelab.cli import main
from vaelab.train import CheckpointError, RunLock, read_metrics, verify
from vaelab.train.distributed import DistributedError, launch

SRC = Path(__file__).resolve().parents[2] / "src"
@pytest.fixture
def config(tmp_path):
    return str(write_config(tmp_path, LVAE_TINY))


def _busy(capsys, argv: list[str], run: Path, pid: int) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"vaelab: error: run folder {run} is being written by process {pid} ")
    assert "\n" not in err


def test_second_writer_stops_at_once_and_readers_go_on(config, tmp_path, capsys):
    run, other = tmp_path / "run", tmp_path / "other"
    assert main(["train", config, "--run-dir", str(run), "--set", "train.epochs=1"]) == 0
    assert main(["train", config, "--run-dir", str(other), "--set", "train.epochs=1"]) == 0
    before = (run / "checkpoint.pt").read_bytes()
    with RunLock(run):  # this process holds it through another descriptor: the CLI is a second writer
        assert (run / ".lock").read_text().strip() == str(os.getpid())
        _busy(capsys, ["train", "--resume", str(run), "--set", "train.epochs=2"], run, os.getpid())
        _busy(capsys, ["train", config, "--run-dir", str(run)], run, os.getpid())
        _busy(capsys, ["train", config, "--run-dir", str(run), "--init-from", str(other)], run, os.getpid())
        _busy(capsys, ["train", "--resume", str(run), "--nproc", "2"], run, os.getpid())  # the launcher locks
        assert main(["evaluate", str(run), "--limit", "20"]) == 0  # readers take no lock
        assert main(["sample", str(run), "--n", "4"]) == 0
        assert main(["train", config, "--run-dir", str(tmp_path / "third"), "--init-from", str(run),
                     "--set", "train.epochs=1"]) == 0  # reading a locked run to start another
    assert (run / "checkpoint.pt").read_bytes() == before
    assert (run / ".lock").read_text() == ""  # released: no holder recorded
    assert main(["train", "--resume", str(run), "--set", "train.epochs=2"]) == 0


def test_data_parallel_processes_do_not_wait_for_a_lock_they_cannot_get(tmp_path):
    with RunLock(tmp_path / "run"):  # rank 0 fails to lock; rank 1 learns it in the same collective and stops too
        with pytest.raises(DistributedError, match=f"is being written by process {os.getpid()}"):
            launch(2, job, str(tmp_path / "run"))


def _wait(condition, proc, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline and not condition() and proc.poll() is None:
        time.sleep(0.02)
    assert condition(), "the training process did not get there"


def test_two_processes_readers_see_whole_files_and_kill_9_frees_the_lock(config, tmp_path, capsys):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cli = [sys.executable, "-m", "vaelab.cli", "train"]
    first = subprocess.Popen([*cli, config, "--run-dir", str(run), "--set", "train.epochs=400",
                              "--set", "train.checkpoint_every_steps=1"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: (run / ".lock").is_file() and (run / ".lock").read_text().strip() == str(first.pid), first)
        _wait(lambda: len(read_metrics(run / "metrics.jsonl")) >= 1, first)
        second = subprocess.run([*cli, "--resume", str(run)], env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        assert second.stderr.strip() == (f"vaelab: error: run folder {run} is being written by process {first.pid} "
                                         f"(lock {run / '.lock'}): wait for it to finish; stop it with kill -TERM "
                                         f"{first.pid} (it saves its place), or use another run folder")
        reads, start = 0, time.time()
        # at least 1.5 s and 20 reads (a loaded machine reads slowly), while the writer replaces checkpoint.pt
        # after every step; 60 s at most
        while (reads < 20 or time.time() < start + 1.5) and time.time() < start + 60:
            try:
                verify(run / "checkpoint.pt")
            except CheckpointError as err:
                pytest.fail(f"a reader met a half-written checkpoint: {err}")
            text = (run / "metrics.jsonl").read_text()
            assert text.endswith("\n") and all(json.loads(line)["epoch"] for line in text.splitlines())
            assert yaml.safe_load((run / "config.yaml").read_text())["train"]["epochs"] == 400
            reads += 1
        assert reads >= 20 and first.poll() is None
        assert main(["evaluate", str(run), "--checkpoint", "last", "--limit", "20"]) == 0
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert main(["train", "--resume", str(run), "--set", "train.epochs=1"]) == 0  # no stale lock
