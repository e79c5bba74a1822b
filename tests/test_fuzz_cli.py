"""Fuzzed command lines: `--set` items, flags and values, and data folders of junk files.

Each case calls vaelab.cli.main in this process and checks the guarantee: a run (exit code 0) or exactly one
stderr line `vaelab: error: ...` with exit code 2, never a traceback. A config refused by `--set` is refused
before the run folder is created. Valid overrides are checked with tiny runs (digits, one epoch).
"""

from __future__ import annotations

import gzip
import os
import struct
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import JUNK, assert_one_line_error, assert_run_or_one_line_error, fuzz_settings, run_cli
from tiny_configs import LVAE_TINY, SEMI_TINY
from vaelab.config import ConfigError, load_config
from vaelab.data import DataError, load_dataset, read_idx, read_norb_mat, read_svhn_mat
from vaelab.data.norb import FILES as NORB_FILES
from vaelab.data.sources import IDX_STEMS

TINY = {**LVAE_TINY, "train": {**LVAE_TINY["train"], "epochs": 1}}
KNOWN_KEYS = [f"{s}.{k}" for s, keys in load_config(None).__dict__.items() if s != "experiment"
              for k in (keys.params.__dict__ if s == "model" else keys.__dict__)]
SET_KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=12) | st.builds(
    "{}.{}".format, st.sampled_from(["data", "model", "train", "eval", "experiment", "x", ""]), st.text(max_size=8))
SET_VALUES = st.text(max_size=16) | JUNK.map(lambda v: yaml.safe_dump(v, default_flow_style=True).strip())


def _tiny_config(folder: Path, raw: dict) -> str:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


@fuzz_settings(120)
@given(key=SET_KEYS, sep=st.sampled_from(["=", "", ":", " = "]), value=SET_VALUES)
def test_a_refused_set_item_is_one_line_before_the_run_folder_exists(key, sep, value):
    item = f"{key}{sep}{value}"
    with tempfile.TemporaryDirectory() as folder:
        config = _tiny_config(Path(folder), TINY)
        try:
            load_config(config, [item])
        except ConfigError as err:
            run_dir = Path(folder) / "run"
            message = assert_one_line_error(run_cli(["train", config, "--run-dir", str(run_dir), "--set", item]))
            assert message == " ".join(str(err).splitlines())
            assert not run_dir.exists()


CHEAP_SETS = st.sampled_from([
    ("train.lr", st.floats(1e-5, 0.1)), ("train.warmup_epochs", st.integers(0, 3)),
    ("train.eq_samples", st.integers(1, 2)), ("train.iw_samples", st.integers(1, 3)),
    ("train.grad_clip", st.floats(0, 10)), ("train.batch_size", st.integers(100, 600)),
    ("train.seed", st.integers(0, 2**31 - 1)), ("train.weight_prior", st.floats(0, 1)),
    ("data.validation", st.integers(0, 300)), ("data.binarize", st.booleans()),
    ("model.activation", st.sampled_from(["relu", "tanh", "leaky_relu", "sigmoid"])),
    ("model.batch_norm", st.booleans()), ("model.var_floor", st.floats(0, 1)),
    ("model.observation", st.sampled_from(["bernoulli", "gaussian", "gaussian_fixed", "gaussian_global"])),
    ("model.flow", st.sampled_from(["none", "iaf", "planar"])), ("model.flow_hidden", st.integers(1, 8)),
    ("model.latent", st.lists(st.integers(1, 4), min_size=1, max_size=2)),
    ("model.hidden", st.lists(st.integers(1, 8), min_size=1, max_size=2)),
    ("eval.iw_samples", st.integers(1, 4)),
])


@fuzz_settings(10)
@given(data=st.data(), base=st.sampled_from([TINY, {**SEMI_TINY, "train": {**SEMI_TINY["train"], "epochs": 1}}]))
def test_valid_cheap_overrides_train_a_run_or_are_one_line_errors(data, base):
    items = []
    for key, values in data.draw(st.lists(CHEAP_SETS, min_size=1, max_size=3), label="keys"):
        items += ["--set", f"{key}={yaml.safe_dump(data.draw(values, label=key), default_flow_style=True).strip()}"]
        items[-1] = items[-1].removesuffix("\n...")
    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder) / "run"
        if assert_run_or_one_line_error(run_cli(["train", _tiny_config(Path(folder), base), "--run-dir", str(run_dir),
                                                 *items])):
            assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "metrics.jsonl").is_file()


COMMANDS = {
    "evaluate": ["--iw-samples", "--split", "--checkpoint", "--limit", "--set", "--inception-weights",
                 "--sample-quality", "--fallback-checkpoint"],
    "sample": ["--n", "--checkpoint", "--seed", "--from", "--uncertainty"],
    "report": ["--checkpoint", "--points", "--images"],
    "classify": ["--out", "--samples", "--checkpoint"],
    "train": ["--resume", "--nproc", "--init-from", "--set", "--fallback-checkpoint"],
}
TOKENS = st.text(max_size=8) | st.sampled_from(["-1", "0", "1", "nan", "best", "last", "--", "-", "=", "x.y=1"])


@fuzz_settings(80)
@given(data=st.data(), command=st.sampled_from(sorted(COMMANDS)))
def test_any_flags_on_a_missing_run_folder_are_one_line_errors(data, command):
    flags = data.draw(st.lists(st.sampled_from(COMMANDS[command]) | TOKENS, max_size=5), label="flags")
    with tempfile.TemporaryDirectory() as folder:
        missing = str(Path(folder) / "no-such-run")
        head = ["train", "--resume", missing] if command == "train" else [command, missing]
        if command == "classify":
            head.append(str(Path(folder) / "inputs.npy"))
        outcome = run_cli([*head, *flags])
    if "-h" in flags or "--help" in flags or any(f.startswith("--h") for f in flags):
        return  # help is a success
    assert_one_line_error(outcome)


def _idx_header(dims: list[int]) -> bytes:
    return bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


JUNK_FILES = st.one_of(
    st.binary(max_size=64),  # random bytes
    st.builds(lambda dims, cut: _idx_header(dims)[:cut], st.lists(st.integers(0, 60000), min_size=1, max_size=3),
              st.integers(0, 16)),  # a truncated header
    st.builds(lambda dims, body: _idx_header(dims) + body, st.lists(st.integers(0, 40), min_size=1, max_size=3),
              st.binary(max_size=64)),  # a header and a body of the wrong size, or a tiny data set
    st.builds(lambda magic, rest: magic + rest, st.binary(min_size=4, max_size=4), st.binary(max_size=32)),  # magic
    st.builds(lambda magic, ndim, dims, body: struct.pack("<iI", magic, ndim) + struct.pack(f"<{len(dims)}i", *dims) + body,
              st.sampled_from([0x1E3D4C55, 0x1E3D4C54, 0x1E3D4C51, 0x12345678]), st.integers(0, 20),
              st.lists(st.integers(-3, 5), max_size=4), st.binary(max_size=16)),  # NORB-like headers
    st.binary(max_size=64).map(gzip.compress),  # gzip of junk
    st.binary(max_size=64).map(lambda b: gzip.compress(b)[: max(2, len(b) // 2)]),  # truncated gzip
)
DATA_FILES = {"mnist": IDX_STEMS, "fashion-mnist": IDX_STEMS,
              "svhn": ["train_32x32.mat", "extra_32x32.mat", "test_32x32.mat"],
              "norb": [name for pair in NORB_FILES.values() for name in pair]}


@fuzz_settings(120)
@given(data=st.data(), name=st.sampled_from(sorted(DATA_FILES)))
def test_a_data_root_of_junk_files_is_a_one_line_data_error(data, name):
    with tempfile.TemporaryDirectory() as folder:
        for stem in DATA_FILES[name]:
            choice = data.draw(st.sampled_from(["missing", "plain", "gz", "folder"]), label=stem)
            path = Path(folder) / (f"{stem}.gz" if choice == "gz" else stem)
            if choice == "folder":
                path.mkdir()
            elif choice != "missing":
                path.write_bytes(data.draw(JUNK_FILES, label=f"{stem} bytes"))
        try:
            load_dataset(name, folder, download=False)
        except DataError as err:
            assert str(err) and "\n" not in str(err), repr(str(err))
        else:
            raise AssertionError("junk files were loaded as a data set")


def test_a_data_root_of_junk_through_the_cli_is_a_one_line_error(tmp_path):
    for stem in IDX_STEMS:
        (tmp_path / stem).write_bytes(os.urandom(100))
    config = _tiny_config(tmp_path, TINY)
    message = assert_one_line_error(run_cli(["train", config, "--run-dir", str(tmp_path / "run"),
                                             "--set", "data.name=mnist", "--set", f"data.root={tmp_path}"]))
    assert "not an IDX file" in message or "IDX" in message


READERS = {"idx": read_idx, "norb": read_norb_mat, "svhn": read_svhn_mat}


@fuzz_settings(150)
@given(reader=st.sampled_from(sorted(READERS)), content=JUNK_FILES)
def test_every_data_file_reader_turns_junk_bytes_into_an_array_or_a_one_line_data_error(reader, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file"
        path.write_bytes(content)
        try:
            READERS[reader](path)
        except DataError as err:
            assert str(err) and "\n" not in str(err), repr(str(err))
