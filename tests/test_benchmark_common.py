"""benchmarks/common.run_script: a benchmark stopped by SIGTERM ends in one line naming its own command."""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import sys
from pathlib import Path

import pytest

from tiny_configs import LVAE_TINY, write_config
from vaelab.runs import train_or_resume
from vaelab.train import read_metrics
from vaelab.train.loop import StepGuard

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _common():
    spec = importlib.util.spec_from_file_location("benchmark_common", BENCHMARKS / "common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_stopped_benchmark_says_where_and_how_to_continue(tmp_path, monkeypatch, capsys):
    config, run = write_config(tmp_path, LVAE_TINY, train={"epochs": 2}), tmp_path / "run"
    calls, original = [0], StepGuard.step

    def step(self, model, opt, loss):  # a real SIGTERM, through the handler, as the 3rd step begins
        calls[0] += 1
        if calls[0] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self, model, opt, loss)

    monkeypatch.setattr(StepGuard, "step", step)
    argv = [str(BENCHMARKS / "some_benchmark.py"), "train", "--epochs", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stopped:
        _common().run_script(lambda: train_or_resume(config, run))
    assert stopped.value.code == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("some_benchmark.py: stopped by SIGTERM after step 3 of 12 of epoch 1; ")
    command = shlex.join([Path(sys.executable).name, *argv])
    assert err.rstrip().endswith(f"; run the same command to continue: {command}")
    assert "vaelab train --resume" not in err
    monkeypatch.undo()
    train_or_resume(config, run)  # the same call continues where it stopped
    assert [m["epoch"] for m in read_metrics(run / "metrics.jsonl")] == [1, 2]
