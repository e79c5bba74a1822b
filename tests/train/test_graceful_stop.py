"""SIGINT/SIGTERM: the step finishes, the place inside the epoch is saved, and resuming repeats the run exactly.

The same for checkpoints written every train.checkpoint_every_steps steps, and a second signal during the save
leaves the checkpoint written before it usable.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from vaelab.cli import main
from vaelab.data import split_labelled
from vaelab.models import MODELS
from vaelab.train import TrainingStopped, TrainSettings, fit, read_metrics, verify
from vaelab.train import checkpoint as checkpoint_module
from vaelab.train.loop import StepGuard
from vaelab.train.semisupervised import SemiSupervisedData

SRC = Path(__file__).resolve().parents[2] / "src"
TINY = {  # 1447 training examples: 91 steps an epoch
    "data": {"name": "digits", "validation": 50},
    "model": {"family": "lvae", "latent": [4, 2], "hidden": [16, 8]},
    "train": {"epochs": 3, "batch_size": 16, "warmup_epochs": 2, "threads": 1, "progress": False},
}
SEMI = {  # 1427 unlabelled examples, 20 per batch: 72 steps an epoch
    "data": {"name": "digits", "validation": 50, "labelled_per_class": 2},
    "model": {"family": "adgm", "classes": 10, "latent": 4, "auxiliary": 4, "hidden": [16, 16]},
    "train": {"epochs": 2, "batch_size": 40, "progress": False, "seed": 3, "threads": 1},
    "eval": {"classify_samples": 2},
}


def _config(tmp_path: Path, raw: dict) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def assert_same_run(a: Path, b: Path) -> None:
    """The same metrics and, bit for bit, the same weights, optimiser and random-number states."""
    assert read_metrics(a / "metrics.jsonl") == read_metrics(b / "metrics.jsonl")
    ca, cb = verify(a / "checkpoint.pt"), verify(b / "checkpoint.pt")
    assert ca["epoch"] == cb["epoch"] and "in_epoch" not in ca and "in_epoch" not in cb
    assert ca["model"].keys() == cb["model"].keys()
    assert all(torch.equal(ca["model"][k], cb["model"][k]) for k in ca["model"])
    for key in ("rng", "data_rng"):
        assert torch.equal(ca[key], cb[key])
    sa, sb = ca["optimizer"]["state"], cb["optimizer"]["state"]
    assert all(torch.equal(sa[i][k], sb[i][k]) for i in sa for k in sa[i])


def signal_at_step(monkeypatch, n: int, signum: int = signal.SIGTERM) -> list[int]:
    """Send this process `signum` (a real signal, through the handler) as the n-th optimiser step begins."""
    calls, original = [0], StepGuard.step

    def step(self, model, opt, loss):
        calls[0] += 1
        if calls[0] == n:
            os.kill(os.getpid(), signum)
        return original(self, model, opt, loss)

    monkeypatch.setattr(StepGuard, "step", step)
    return calls


def test_sigterm_mid_epoch_then_resume_equals_uninterrupted(tmp_path, capfd):
    config = _config(tmp_path, TINY)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.Popen([sys.executable, "-m", "vaelab.cli", "train", config, "--run-dir", str(cut)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    # epoch 1's record and then its checkpoint are written; a signal before the checkpoint lands stops at the epoch end
    while time.time() < deadline and not (read_metrics(cut / "metrics.jsonl") and (cut / "checkpoint.pt").exists()) \
            and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(random.uniform(0.0, 0.1))  # somewhere early in epoch 2 (an epoch takes about half a second)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("vaelab: stopped by SIGTERM after step ") and "of 91 of epoch 2" in line
    assert line.endswith(f"resume with: vaelab train --resume {cut}")
    position = verify(cut / "checkpoint.pt")["in_epoch"]
    assert position["epoch"] == 2 and 1 <= position["batches"] < 91
    assert [r["epoch"] for r in read_metrics(cut / "metrics.jsonl")] == [1]
    assert main(["train", "--resume", str(cut)]) == 0
    assert_same_run(full, cut)


def test_semi_supervised_stop_mid_epoch_then_resume(tmp_path, monkeypatch, capsys):
    config = _config(tmp_path, SEMI)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    signal_at_step(monkeypatch, 72 + 30, signal.SIGINT)  # step 30 of epoch 2, Ctrl-C
    assert main(["train", config, "--run-dir", str(cut)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"vaelab: stopped by SIGINT after step 30 of 72 of epoch 2; {cut / 'checkpoint.pt'} holds this "
                   f"place; resume with: vaelab train --resume {cut}")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back
    monkeypatch.undo()
    assert main(["train", "--resume", str(cut)]) == 0
    assert_same_run(full, cut)


def _noisy_semi_supervised_data() -> tuple[SemiSupervisedData, callable]:
    """Grey-level data with uniform noise added to every batch (SVHN's scheme): the generator moves every step."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(120, 12, generator=g), torch.arange(120) % 3
    split = split_labelled(x, y, 2, 3, seed=0)
    data = SemiSupervisedData(split, torch.rand(20, 12, generator=g), torch.arange(20) % 3, binarize=False, beta=0.1,
                              labelled_batch=3, classify_samples=1, noise_width=torch.full((12,), 0.01))
    params = MODELS["adgm"].Params(classes=3, latent=2, auxiliary=2, hidden=(8,), observation="gaussian")

    def model():
        torch.manual_seed(0)
        return MODELS["adgm"](12, params)

    return data, model


def test_stop_inside_an_epoch_with_per_batch_noise(tmp_path, monkeypatch):
    data, model = _noisy_semi_supervised_data()
    s = TrainSettings(epochs=3, batch_size=12, progress=False, threads=1)  # 114 unlabelled / 9: 13 steps
    fit(model(), data, s, tmp_path / "full")
    signal_at_step(monkeypatch, 13 + 6)
    with pytest.raises(TrainingStopped, match="after step 6 of 13 of epoch 2") as stopped:
        fit(model(), data, s, tmp_path / "cut")
    assert stopped.value.exit_code == 128 + signal.SIGTERM
    monkeypatch.undo()
    fit(model(), data, s, tmp_path / "cut", resume=True)
    assert_same_run(tmp_path / "full", tmp_path / "cut")


class Crash(RuntimeError):
    pass


def test_checkpoint_every_steps_then_crash_then_resume(tmp_path, monkeypatch):
    config = _config(tmp_path, TINY)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    calls, original = [0], StepGuard.step

    def step(self, model, opt, loss):  # the process dies at step 130 (epoch 2, after the save at step 126)
        calls[0] += 1
        if calls[0] == 130:
            raise Crash
        return original(self, model, opt, loss)

    monkeypatch.setattr(StepGuard, "step", step)
    with pytest.raises(Crash):
        main(["train", config, "--run-dir", str(cut), "--set", "train.checkpoint_every_steps=21"])
    position = verify(cut / "checkpoint.pt")["in_epoch"]
    assert (position["epoch"], position["batches"], position["of"]) == (2, 126 - 91, 91)
    assert verify(cut / "checkpoint.prev.pt")["in_epoch"]["batches"] == 105 - 91  # the save before
    monkeypatch.undo()
    assert main(["train", "--resume", str(cut), "--set", "train.checkpoint_every_steps=0"]) == 0
    assert_same_run(full, cut)


def test_second_signal_during_the_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, capsys):
    config = _config(tmp_path, TINY)
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert main(["train", config, "--run-dir", str(full)]) == 0
    before: dict[str, bytes] = {}
    steps = signal_at_step(monkeypatch, 91 + 10)
    real_save = torch.save

    def save_then_signal(obj, f):  # half the checkpoint is on disk when the second SIGTERM comes
        if steps[0] < 91 + 10:  # the saves at the end of epoch 1
            return real_save(obj, f)
        before["checkpoint"] = (cut / "checkpoint.pt").read_bytes()
        f.write(b"PK\x03\x04 half a checkpoint")
        os.kill(os.getpid(), signal.SIGTERM)
        real_save(obj, f)

    monkeypatch.setattr(checkpoint_module.torch, "save", save_then_signal)
    assert main(["train", config, "--run-dir", str(cut)]) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"vaelab: interrupted; the last checkpoint written is intact: continue with "
                   f"vaelab train --resume {cut}")
    assert (cut / "checkpoint.pt").read_bytes() == before["checkpoint"]
    assert verify(cut / "checkpoint.pt")["epoch"] == 1
    assert not [p for p in cut.iterdir() if p.name.endswith(".tmp")]
    monkeypatch.undo()
    assert main(["train", "--resume", str(cut)]) == 0
    assert_same_run(full, cut)
