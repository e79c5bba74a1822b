"""Frozen, typed configs composed from each part's settings; YAML in and out; `--set` overrides.

A config file has four sections: data, model, train, eval, and an optional top-level `experiment` that
names the paper experiment a preset reproduces (vaelab compare shows the paper's numbers beside the run's).
Unknown keys, wrong types and impossible values raise ConfigError with a one-line message naming the key
and what to do.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vaelab.data.datasets import NEEDS_PATH
from vaelab.data.labelled import LABELLED_CHOICES, UNLABELLED_SETS
from vaelab.evaluation.settings import EvalSettings
from vaelab.models import MODELS
from vaelab.presets import UnknownPreset, preset_path
from vaelab.train.settings import TrainSettings


BINARIZE_EVERY = ("epoch", "step")
# What PyYAML raises on bad text, and on text nested too deep for Python's recursion limit or holding an
# integer of more digits than Python converts (ValueError).
YAML_ERRORS = (yaml.YAMLError, RecursionError, ValueError)
INT_LIMIT = 2**31  # every integer setting lies in (-INT_LIMIT, INT_LIMIT): a size, count or seed beyond is a typo
SHOWN_CHARS = 60  # a wrong value is quoted in an error up to this many characters, so the message stays one line


class ConfigError(ValueError):
    """A config that cannot be used: the message says which key and how to fix it."""


@dataclass(frozen=True)
class DataConfig:
    name: str = "digits"  # the data set, a key of vaelab.data.LOADERS; npz or images: your own, read from data.path
    root: str | None = None  # a directory holding the data set's files; else VAELAB_DATA, cache, /usr/share
    path: str | None = None  # npz: the .npz file; images: the folder of PNG/JPEG images (docs/guides/own-data.md)
    image_size: tuple[int, ...] | None = None  # images: resize every image to [H, W]; none keeps sizes (must agree)
    test_fraction: float = 0.1  # npz/images without a test split: share carved off as test (fixed-seed permutation)
    binarize: bool = True  # Bernoulli models: re-binarise training data every epoch, val/test once
    validation: int = 100  # training examples held out for model selection (never trained on)
    seed: int | None = None  # the data's draws (held-out split, labels, val/test binarisation); none: train.seed
    download: bool = True  # download (SHA-256 checked) when no local copy is found and a network exists
    dequantize: bool = False  # real-valued data: add U[0,1) noise to the grey levels, (k + u) / levels
    labelled_per_class: int = 0  # semi-supervised families: labelled examples per class (ADGM: 10 on MNIST)
    labelled_choice: str = "random"  # how, seeded: random | spread (k-means per class) | moon_points (moons only)
    unlabelled_set: str = "rest"  # semi-supervised: rest (examples without labels) | all (labelled ones too)
    binarize_every: str = "epoch"  # semi-supervised: fresh training binarisation every epoch | step (both halves)
    drop_std: float = 0.0  # drop inputs whose training std is below this (ADGM MNIST: 0.1 -> 444 inputs)

    def __post_init__(self) -> None:
        self._check_own_data()
        if self.validation < 0:
            raise ValueError(f"data.validation must be >= 0, got {self.validation}")
        if self.dequantize and self.binarize:
            raise ValueError("data.dequantize needs real-valued data: set data.binarize: false")
        if self.labelled_per_class < 0 or self.drop_std < 0:
            raise ValueError("data.labelled_per_class and data.drop_std must be >= 0")
        if self.labelled_choice not in LABELLED_CHOICES:
            raise ValueError(f"data.labelled_choice must be one of {', '.join(LABELLED_CHOICES)}, "
                             f"got {self.labelled_choice!r}")
        if self.labelled_choice == "moon_points" and self.name != "moons":
            raise ValueError(f"data.labelled_choice moon_points places labels on the half-moons (data.name: moons), "
                             f"not on {self.name}; use random or spread")
        if self.unlabelled_set not in UNLABELLED_SETS:
            raise ValueError(f"data.unlabelled_set must be one of {', '.join(UNLABELLED_SETS)}, "
                             f"got {self.unlabelled_set!r}")
        if self.binarize_every not in BINARIZE_EVERY:
            raise ValueError(f"data.binarize_every must be one of {', '.join(BINARIZE_EVERY)}, "
                             f"got {self.binarize_every!r}")
        if self.binarize_every == "step" and not self.binarize:
            raise ValueError("data.binarize_every step re-binarises training data: it needs data.binarize: true")

    def _check_own_data(self) -> None:
        """data.path, data.image_size, data.test_fraction: only for (and, path, needed by) npz and images."""
        own = NEEDS_PATH.get(self.name)
        if own is not None and not self.path:
            raise ValueError(f"data.name {self.name} reads your own data from data.path: set data.path to your {own}")
        if own is None and (self.path is not None or self.image_size is not None):
            raise ValueError(f"data.path and data.image_size are for your own data (data.name npz or images), not "
                             f"{self.name}; remove them")
        if self.image_size is not None and (len(self.image_size) != 2 or min(self.image_size) < 1):
            raise ValueError(f"data.image_size must be [H, W] with positive sizes, got {list(self.image_size)}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"data.test_fraction must lie strictly between 0 and 1, got {self.test_fraction}")


@dataclass(frozen=True)
class ModelConfig:
    family: str = "lvae"  # the model family, a key of vaelab.models.MODELS; it decides the other model keys
    params: Any = None  # an instance of MODELS[family].Params


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)  # the data set and its splits
    model: ModelConfig = field(default_factory=lambda: ModelConfig("lvae", MODELS["lvae"].Params()))  # the model
    train: TrainSettings = field(default_factory=TrainSettings)  # the training loop
    eval: EvalSettings = field(default_factory=EvalSettings)  # evaluation: vaelab evaluate, sample, report
    experiment: str | None = None  # e.g. "lvae-fig3/lvae-bn-wu-5layer": a key of paper_references()


def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Return value converted to `hint` (list -> tuple, int -> float) or raise ConfigError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _check_type(value, option, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{key}: {_show(value)} is not of type {_type_name(hint)}")
    if hint is type(None):
        if value is None:
            return None
    elif origin is tuple:
        (item,) = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if isinstance(value, (list, tuple)):
            return tuple(_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    elif hint is float:
        number = _as_float(value)
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"{key}: {_show(value)} is not a finite number; give a finite float")
            return number
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -INT_LIMIT < value < INT_LIMIT:
                raise ConfigError(f"{key}: {_show(value)} is out of range; give an integer of magnitude below 2^31")
            return value
    elif hint in (bool, str) and isinstance(value, hint):
        return value
    elif hint is Any:
        return value
    raise ConfigError(f"{key}: {_show(value)} is not of type {_type_name(hint)}")


def _as_float(value: Any) -> float | None:
    """value as a float (ints, floats, and strings: YAML 1.1 reads 3e-4, without a dot, as a string), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):  # a string that is no number; an int beyond the float range
        return float("inf") if isinstance(value, int) else None


def _show(value: Any) -> str:
    """repr(value), cut to SHOWN_CHARS characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "..."


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def build_dataclass(cls: type, values: dict[str, Any], section: str) -> Any:
    """cls(**values) with unknown keys, types and the class's own checks reported as ConfigError."""
    if not isinstance(values, dict):
        raise ConfigError(f"section '{section}' must be a mapping of keys to values, got {_show(values)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(names), key=str)  # YAML keys may be numbers, null or booleans too
    if unknown:
        raise ConfigError(f"unknown key '{section}.{unknown[0]}'; known keys of '{section}': {', '.join(names)}")
    typed = {k: _check_type(v, hints[k], f"{section}.{k}") for k, v in values.items()}
    try:
        return cls(**typed)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def config_from_dict(raw: dict[str, Any] | None) -> Config:
    """Build a Config from the nested dict of a YAML file; missing keys take their defaults."""
    raw = _mapping({} if raw is None else raw, "a config")
    unknown = sorted(set(raw) - {"data", "model", "train", "eval", "experiment"}, key=str)
    if unknown:
        raise ConfigError(f"unknown section '{unknown[0]}'; a config has the sections data, model, train, eval "
                          "and an optional experiment name")
    model_raw = _mapping(_section(raw, "model"), "section 'model'")
    family = model_raw.pop("family", "lvae")
    if not isinstance(family, str) or family not in MODELS:
        raise ConfigError(f"model.family: unknown family {_show(family)}; choose one of {', '.join(sorted(MODELS))}")
    return Config(
        data=build_dataclass(DataConfig, _section(raw, "data"), "data"),
        model=ModelConfig(family, build_dataclass(MODELS[family].Params, model_raw, "model")),
        train=build_dataclass(TrainSettings, _section(raw, "train"), "train"),
        eval=build_dataclass(EvalSettings, _section(raw, "eval"), "eval"),
        experiment=_experiment(raw.get("experiment")),
    )


def _section(raw: dict[str, Any], name: str) -> Any:
    """The section `name` of a config: {} when absent or empty (`train:` with nothing under it)."""
    value = raw.get(name)
    return {} if value is None else value


def _mapping(value: Any, what: str) -> dict[Any, Any]:
    """A copy of value if it is a mapping, else ConfigError."""
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a mapping of keys to values, got {_show(value)}")
    return dict(value)


def _experiment(value: Any) -> str | None:
    """The top-level experiment name; apply_overrides turns a null top-level value into {}, read as none."""
    return _check_type(None if value == {} else value, str | None, "experiment")


def config_to_dict(config: Config) -> dict[str, Any]:
    """The nested plain dict (lists, not tuples) that YAML files hold."""
    def plain(obj: Any) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(obj).items()}

    return {
        "data": plain(config.data),
        "model": {"family": config.model.family, **plain(config.model.params)},
        "train": plain(config.train),
        "eval": plain(config.eval),
        "experiment": config.experiment,
    }


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` strings (value parsed as YAML) to a nested dict, returning a new dict."""
    raw = {k: dict(v or {}) if isinstance(v, dict) or v is None else v for k, v in (raw or {}).items()}
    for item in overrides:
        key, sep, text = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ConfigError(f"--set {_show(item)}: write it as section.key=value, e.g. --set train.epochs=50")
        section, name = parts
        try:
            value = yaml.safe_load(text)
        except YAML_ERRORS:
            raise ConfigError(f"--set {_show(item)}: the value is not valid YAML") from None
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"--set {_show(item)}: section '{section}' is not a mapping")
        raw[section][name] = value
    return raw


def load_config(source: str | Path | dict | Config | None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Read a config and apply overrides: a YAML file, else a preset of that name (vaelab.presets: `demo`,
    `lvae/mnist-5layer`; a real file wins), a Config or nested dict (from Python), or the defaults for None."""
    if isinstance(source, Config):
        source = config_to_dict(source)
    raw = dict(source) if isinstance(source, dict) else _read_yaml(source) if source is not None else {}
    return config_from_dict(apply_overrides(raw, list(overrides)))


def _read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML config file or preset; ConfigError naming close preset names for neither."""
    path = Path(path)
    if not path.is_file():
        try:
            path = preset_path(str(path))
        except UnknownPreset as err:
            raise ConfigError(str(err)) from None
    try:
        raw = yaml.safe_load(path.read_bytes())  # bytes: PyYAML reports a bad encoding as a YAMLError
    except YAML_ERRORS as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise ConfigError(f"config file {path} is not valid YAML: {first}") from None
    except OSError as err:
        raise ConfigError(f"config file {path} cannot be read ({err.strerror}); check its permissions") from None
    raw = {} if raw is None else raw  # an empty file: the defaults
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping with sections data, model, train, eval, "
                          f"not {type(raw).__name__} {_show(raw)}")
    return raw


def dump_config(config: Config) -> str:
    """The YAML text of a config; load_config of it gives the same config back."""
    return yaml.safe_dump(config_to_dict(config), sort_keys=False)
