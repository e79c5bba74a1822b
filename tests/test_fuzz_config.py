"""Fuzzed configs: any value in any key of any section, for every model family, is a config or a ConfigError.

A config that loads is well-formed (finite floats, integers of magnitude below 2^31) and survives a YAML round
trip; a refused one gets a one-line message that names its section. Bytes that are not YAML, YAML that is not
a mapping, unknown keys and sections are refused the same way.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from fuzz_support import JUNK, fuzz_settings
from vaelab.config import INT_LIMIT, Config, ConfigError, DataConfig, config_from_dict, dump_config, load_config
from vaelab.evaluation.settings import EvalSettings
from vaelab.models import MODELS
from vaelab.train.settings import TrainSettings

SECTIONS = {"data": DataConfig, "train": TrainSettings, "eval": EvalSettings}


def _fields(family: str, section: str) -> list[str]:
    cls = MODELS[family].Params if section == "model" else SECTIONS[section]
    return [f.name for f in dataclasses.fields(cls)]


def _leaves(value: Any) -> list[Any]:
    if dataclasses.is_dataclass(value):
        return [leaf for f in dataclasses.fields(value) for leaf in _leaves(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _check_loaded(config: Config) -> None:
    """What every config that loads holds: finite floats, bounded integers, and it reads back as itself."""
    for leaf in _leaves(config):
        if isinstance(leaf, float):
            assert math.isfinite(leaf)
        if isinstance(leaf, int) and not isinstance(leaf, bool):
            assert -INT_LIMIT < leaf < INT_LIMIT
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(dump_config(config))
        assert load_config(path) == config


def _outcome(raw: Any) -> Config | str:
    """The config, or the ConfigError's message (checked to be one line)."""
    try:
        config = config_from_dict(raw)
    except ConfigError as err:
        message = str(err)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        return message
    _check_loaded(config)
    return config


@fuzz_settings(300)
@given(data=st.data(), family=st.sampled_from(sorted(MODELS)), section=st.sampled_from(["data", "model", "train", "eval"]))
def test_any_value_in_any_key_is_a_config_or_a_one_line_error(data, family, section):
    key = data.draw(st.sampled_from(_fields(family, section)), label="key")
    value = data.draw(JUNK, label="value")
    raw = {"model": {"family": family}}
    raw.setdefault(section, {})[key] = value
    result = _outcome(raw)
    if isinstance(result, str):
        assert section in result, result
    else:
        got = getattr(result.model.params if section == "model" else getattr(result, section), key)
        assert got == (tuple(value) if isinstance(value, list) else value) or isinstance(value, (int, str))


@fuzz_settings(100)
@given(family=st.sampled_from(sorted(MODELS)), section=st.sampled_from(["data", "model", "train", "eval", "experiment"]),
       value=JUNK)
def test_any_value_as_a_whole_section_is_a_config_or_a_one_line_error(family, section, value):
    raw = {section: value} if section != "model" else {"model": value}
    if section != "model":
        raw["model"] = {"family": family}
    _outcome(raw)


@fuzz_settings(60)
@given(family=st.sampled_from(sorted(MODELS)), section=st.sampled_from(["data", "model", "train", "eval"]),
       key=st.text(min_size=1, max_size=12) | st.integers() | st.none() | st.booleans(), value=JUNK)
def test_an_unknown_key_is_refused_by_name(family, section, key, value):
    if key in _fields(family, section) or (section == "model" and key == "family"):
        return
    raw = {"model": {"family": family}}
    raw.setdefault(section, {})[key] = value
    message = _outcome(raw)
    assert isinstance(message, str) and message.startswith(f"unknown key '{section}.{key}'"), message


@fuzz_settings(40)
@given(section=st.text(max_size=10) | st.integers() | st.none(), value=JUNK)
def test_an_unknown_section_is_refused(section, value):
    if section in ("data", "model", "train", "eval", "experiment"):
        return
    message = _outcome({section: value, "train": {}})
    assert isinstance(message, str) and message.startswith(f"unknown section '{section}'"), message


def _load_bytes(content: bytes) -> Config | str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_bytes(content)
        try:
            config = load_config(path)
        except ConfigError as err:
            assert "\n" not in str(err), repr(str(err))
            return str(err)
    _check_loaded(config)
    return config


YAML_SNIPPETS = st.sampled_from([b"data:", b" name: mnist", b"model:\n  family: lvae", b"- 1", b"[", b"{", b": :",
                                 b"!!python/object/apply:os.system ['true']", b"\t", b"&a [*a]", b"\xef\xbb\xbf",
                                 b"\xff\xfe", b"\x00", b"'", b'"', b"%YAML 9.9", b"---", b"...", b"? [1]\n: 2"])


@fuzz_settings(200)
@given(content=st.binary(max_size=200) | st.lists(YAML_SNIPPETS | st.binary(max_size=8), max_size=8).map(b"\n".join))
def test_any_bytes_as_a_config_file_are_a_config_or_a_one_line_error(content):
    _load_bytes(content)


@fuzz_settings(60)
@given(value=JUNK)
def test_yaml_that_is_not_a_mapping_is_refused(value):
    text = yaml.safe_dump(value)
    result = _load_bytes(text.encode())
    if value is None or isinstance(value, dict):
        return  # null is the empty config; a mapping is judged by its keys
    assert isinstance(result, str) and "must hold a mapping" in result, result


@pytest.mark.parametrize("text", ["[" * 3000, "- " * 3000 + "x", "a: " + "9" * 5000, "{a: " * 2000])
def test_yaml_nested_too_deep_or_numbers_too_long_are_one_line_errors(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="is not valid YAML") as err:
        load_config(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "-inf", "1e999", 10**400])
def test_a_float_key_refuses_non_finite_values(value):
    with pytest.raises(ConfigError, match="train.lr: .* is not a finite number"):
        config_from_dict({"train": {"lr": value}})


@pytest.mark.parametrize("value", [2**31, -(2**31), 10**30])
def test_an_integer_key_refuses_values_of_2_to_the_31_and_beyond(value):
    with pytest.raises(ConfigError, match=r"model.latent\[0\]: .* is out of range"):
        config_from_dict({"model": {"family": "vae", "latent": [value], "hidden": [8]}})
    assert config_from_dict({"train": {"seed": INT_LIMIT - 1}}).train.seed == INT_LIMIT - 1
