"""The YAML presets that ship inside the package, one per experiment of the papers, found by name.

A preset's name is its path below this folder without `.yaml`: `demo`, `lvae/mnist-5layer`,
`adgm/mnist-100-adgm`. In a checkout, `configs/` is a link to this folder, so `configs/lvae/mnist-5layer.yaml`
and `lvae/mnist-5layer` name the same file; installed from a wheel, the name works from any folder.
A preset's description is the first line of the comment block at its top.

This module imports nothing else of the package: config.load_config turns UnknownPreset into a ConfigError.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
SUFFIX = ".yaml"
CHECKOUT_PREFIX = "configs/"  # the checkout's link to this folder: `configs/demo.yaml` is the preset `demo`
CLOSE_MATCHES = 5  # at most this many suggestions in the error for an unknown name


class UnknownPreset(LookupError):
    """A name that is neither a file nor a preset; the message lists the closest preset names."""


@dataclass(frozen=True)
class Preset:
    name: str  # e.g. lvae/mnist-5layer: the path below the presets folder without .yaml
    path: Path  # the YAML file
    description: str  # the first comment line of the file, without its '#'


def list_presets() -> list[Preset]:
    """Every preset, sorted by name, with its one-line description."""
    return sorted((Preset(_name(p), p, _description(p)) for p in FOLDER.rglob(f"*{SUFFIX}")), key=lambda p: p.name)


def preset_names() -> list[str]:
    """The names of every preset, sorted."""
    return sorted(_name(p) for p in FOLDER.rglob(f"*{SUFFIX}"))


def preset_path(name: str) -> Path:
    """The YAML file of the preset `name` (`demo`, `lvae/mnist-5layer`; `.yaml` and a leading `configs/` are
    allowed); UnknownPreset, listing close matches, when there is none."""
    key = name.strip().removeprefix("./").removeprefix(CHECKOUT_PREFIX).removesuffix(SUFFIX)
    path = FOLDER / f"{key}{SUFFIX}"
    if key and not Path(key).is_absolute() and ".." not in Path(key).parts and path.is_file():
        return path
    names = preset_names()
    close = difflib.get_close_matches(key, names, n=CLOSE_MATCHES, cutoff=0.5)
    close = close or [n for n in names if key and key.split("/")[-1] in n][:CLOSE_MATCHES]
    hint = f"close matches: {', '.join(close)}; " if close else ""
    raise UnknownPreset(f"config file {name} not found, nor a preset of that name; {hint}vaelab presets lists all "
                        f"{len(names)} presets")


def _name(path: Path) -> str:
    return path.relative_to(FOLDER).with_suffix("").as_posix()


def _description(path: Path) -> str:
    """The first comment line at the top of the file, with ' ...' where the comment goes on (empty if none)."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    for i, text in enumerate(lines):
        if text.startswith("#"):
            more = i + 1 < len(lines) and lines[i + 1].startswith("#") and not text.endswith((".", ")"))
            return text.lstrip("#").strip() + (" ..." if more else "")
        if text:
            return ""
    return ""
