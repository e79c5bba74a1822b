"""Fuzzed run folders: evaluate, sample, report and train --resume on damaged or foreign files.

One tiny run is trained once; every example copies it and damages it: checkpoint.pt and best.pt missing,
truncated, random bytes, a torch.save of another dict, or a vaelab checkpoint with a field replaced (its
digest recomputed, so that only the field's content is wrong); metrics.jsonl with junk lines; config.yaml
missing or junk. Each command ends in a run or a one-line error. A checkpoint crafted to run code when
unpickled is refused and its code never runs.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz_support import JUNK, assert_one_line_error, assert_run_or_one_line_error, fuzz_settings, run_cli
from tiny_configs import LVAE_TINY, write_config
from vaelab.train.checkpoint import CheckpointError, load_checkpoint, save_atomic, verify

CHECKPOINTS = ("checkpoint.pt", "best.pt")
TINY = {"data": LVAE_TINY["data"], "model": {"family": "vae", "latent": [2], "hidden": [8]},
        "train": {**LVAE_TINY["train"], "epochs": 1}, "eval": {"iw_samples": 2, "batch_size": 50}}
COMMANDS = {
    "evaluate": lambda run: ["evaluate", run, "--limit", "10", "--iw-samples", "2"],
    "sample": lambda run: ["sample", run, "--n", "4"],
    "report": lambda run: ["report", run, "--points", "20", "--images", "4"],
    "resume": lambda run: ["train", "--resume", run, "--set", "train.epochs=2"],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-run")
    run = folder / "run"
    assert run_cli(["train", str(write_config(folder, TINY)), "--run-dir", str(run)]).code == 0
    return run


def _replace_field(state: dict, key: str, value: object) -> dict:
    state = {k: v for k, v in state.items() if k != "sha256"}
    if value == "<delete>":
        state.pop(key, None)
    else:
        state[key] = value
    return state


TENSORS = st.builds(torch.zeros, st.lists(st.integers(0, 3), max_size=2).map(tuple))
PLAIN = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=4)
                     | TENSORS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                             max_size=3), max_leaves=6)


def _damage_checkpoint(data, run: Path, state: dict) -> None:
    kind = data.draw(st.sampled_from(["missing", "truncated", "random", "foreign", "field", "intact"]), label="kind")
    for name in CHECKPOINTS:
        path = run / name
        if kind == "missing":
            path.unlink()
        elif kind == "truncated":
            content = path.read_bytes()
            path.write_bytes(content[: data.draw(st.integers(0, len(content) - 1), label="cut")])
        elif kind == "random":
            path.write_bytes(data.draw(st.binary(max_size=300), label="bytes"))
        elif kind == "foreign":
            torch.save(data.draw(st.dictionaries(st.text(max_size=6), PLAIN, max_size=4) | PLAIN, label="foreign"), path)
        elif kind == "field":
            key = data.draw(st.sampled_from(sorted(k for k in state if k != "sha256")), label="field")
            value = data.draw(PLAIN | st.just("<delete>"), label="value")
            save_atomic(_replace_field(state, key, value), path, keep_previous=False)


def _damage_folder(data, run: Path) -> None:
    metrics = run / "metrics.jsonl"
    if data.draw(st.booleans(), label="junk metrics"):
        lines = data.draw(st.lists(st.binary(max_size=20) | st.sampled_from(
            [b'{"epoch": "1"}', b"[1]", b"{", b'{"epoch": 1e999}', b'{"epoch": ' + b"9" * 5000 + b"}",
             b"[" * 5000]), max_size=4), label="lines")
        metrics.write_bytes(metrics.read_bytes() + b"\n".join(lines))
    config = run / "config.yaml"
    change = data.draw(st.sampled_from(["keep", "keep", "missing", "junk", "yaml"]), label="config")
    if change == "missing":
        config.unlink()
    elif change == "junk":
        config.write_bytes(data.draw(st.binary(max_size=80), label="config bytes"))
    elif change == "yaml":
        config.write_text(f"train: {{epochs: {data.draw(JUNK, label='epochs')!r}}}\n")


@fuzz_settings(40)
@given(data=st.data(), command=st.sampled_from(sorted(COMMANDS)))
def test_any_damaged_run_folder_ends_in_a_run_or_a_one_line_error(trained, data, command):
    state = verify(trained / "checkpoint.pt")
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(trained, run)
        _damage_checkpoint(data, run, state)
        _damage_folder(data, run)
        assert_run_or_one_line_error(run_cli(COMMANDS[command](str(run))))


class RunsCode:
    """Unpickling calls os.system: a marker file appears if the checkpoint's code ever runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


WRITERS = {
    "torch.save": lambda obj, path: torch.save({"format": 2, "model": obj, "epoch": 0, "metadata": {}}, path),
    "pickle protocol 2": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=2)),
    "pickle protocol 5": lambda obj, path: path.write_bytes(pickle.dumps(obj, protocol=5)),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_checkpoint_crafted_to_run_code_is_refused_and_never_runs(trained, tmp_path, writer, command):
    run, marker = tmp_path / "run", tmp_path / "marker"
    shutil.copytree(trained, run)
    for name in CHECKPOINTS:
        WRITERS[writer](RunsCode(marker), run / name)
    outcome = run_cli(COMMANDS[command](str(run)))
    if command == "report":  # the report is written, with a note where the model could not be loaded
        assert outcome.code == 0 and "cannot be read" in outcome.err
    else:
        assert "cannot be read" in assert_one_line_error(outcome)
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(run / "checkpoint.pt")
    assert not marker.exists()



FIELDS = ["best_val_elbo", "bad_steps", "data_rng", "epoch", "hooks", "metadata", "model", "optimizer", "rng",
          "rng_per_rank", "skipped_steps", "world"]


@fuzz_settings(30)
@given(command=st.sampled_from(["resume", "evaluate"]), key=st.sampled_from(FIELDS), value=PLAIN | st.just("<delete>"))
@example(command="resume", key="optimizer", value="junk").via("a traceback found by this test")
@example(command="resume", key="world", value=[1, 2]).via("a misleading --nproc hint found by this test")
def test_a_checkpoint_with_any_field_replaced_ends_in_a_run_or_a_one_line_error(trained, command, key, value):
    state = verify(trained / "checkpoint.pt")
    assert set(FIELDS) <= set(state)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(trained, run)
        for name in CHECKPOINTS:
            save_atomic(_replace_field(state, key, value), run / name, keep_previous=False)
        assert_run_or_one_line_error(run_cli(COMMANDS[command](str(run))))
