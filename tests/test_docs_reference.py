"""The generated references of the documentation (docs/hooks/): every config key and every command-line
argument is in them, with its meaning, and a key or argument without one is refused."""

import argparse
import dataclasses
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[1] / "docs" / "hooks"


def _hook(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses defined in the module need it registered
    spec.loader.exec_module(module)
    return module


config_reference = _hook("config_reference")
cli_reference = _hook("cli_reference")


def _row(table: str, key: str) -> str:
    rows = [line for line in table.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"{key}: {len(rows)} rows"
    return rows[0]


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


@pytest.mark.parametrize("section", ["data", "model", "train", "eval"])
def test_every_key_of_every_dataclass_is_in_the_reference(section: str) -> None:
    text = config_reference.render(section)
    classes = config_reference.section_classes(section)
    assert classes
    for cls in classes:
        part = text if section != "model" else text.split(f"`{cls.__module__}.{cls.__name__}`")[1].split("\n### ")[0]
        docs = {d.name: d for d in config_reference.field_docs(cls)}
        for f in dataclasses.fields(cls):
            cells = _cells(_row(part, f"{section}.{f.name}"))
            assert cells[2] == f"`{docs[f.name].default}`"
            assert docs[f.name].meaning and cells[3].startswith(config_reference._cell(docs[f.name].meaning))


def test_top_level_keys_and_model_families_are_in_the_reference() -> None:
    from vaelab.data import LOADERS
    from vaelab.models import MODELS

    top = config_reference.render("top")
    assert "`experiment`" in top and all(f" {f} " in _row(top, "model.family") + " " for f in MODELS)
    assert all(name in _row(config_reference.render("data"), "data.name") for name in LOADERS)
    model = config_reference.render("model")
    assert all(f"`{family}`" in model for family in MODELS)


def test_defaults_and_types_are_written_as_yaml() -> None:
    from vaelab.models.hierarchy import HierarchyParams

    docs = {d.name: d for d in config_reference.field_docs(HierarchyParams)}
    assert docs["latent"].default == "[64, 32, 16, 8, 4]" and docs["latent"].type == "list of int"
    assert docs["batch_norm"].default == "true"
    from vaelab.config import DataConfig

    assert {d.name: d for d in config_reference.field_docs(DataConfig)}["root"].type == "str or null"


@dataclass(frozen=True)
class _Undocumented:
    width: int = 3  # documented
    depth: int = 2


@dataclass(frozen=True)
class _Documented:
    width: int = 3  # the width, which takes
                    # two lines to explain
    # A group of settings.
    depth: int = 2  # the depth
    rate: float = 0.5  # the rate

    seed: int = 0  # after a blank line: no group


def test_a_field_without_a_comment_is_refused() -> None:
    with pytest.raises(config_reference.UndocumentedField, match="depth"):
        config_reference.field_docs(_Undocumented)


def test_continuation_lines_and_groups() -> None:
    docs = {d.name: d for d in config_reference.field_docs(_Documented)}
    assert docs["width"].meaning == "the width, which takes two lines to explain" and docs["width"].group == ""
    assert docs["depth"].group == docs["rate"].group == "A group of settings."
    assert docs["seed"].group == ""


def test_every_subcommand_and_argument_is_in_the_cli_reference() -> None:
    text = cli_reference.render()
    parser = cli_reference.parser()
    names = [name for name, _, _ in cli_reference.subcommands(parser)]
    assert {"train", "evaluate", "sample", "report", "compare", "classify", "moons", "potentials"} <= set(names)
    for name, _, sub in cli_reference.subcommands(parser):
        section = text.split(f"## vaelab {name}\n")[1].split("\n## ")[0]
        for action in cli_reference.arguments(sub):
            row = _row(section, cli_reference._name(action))
            assert action.help.replace("|", "\\|") in row
            for flag in action.option_strings:
                assert flag in section


def test_an_argument_without_help_is_refused() -> None:
    parser = argparse.ArgumentParser(prog="vaelab")
    sub = parser.add_subparsers(dest="command").add_parser("demo", help="a demo")
    sub.add_argument("--fine", help="documented")
    sub.add_argument("--bare")
    with pytest.raises(cli_reference.UndocumentedArgument, match="--bare"):
        cli_reference.check(parser)
