"""MkDocs hook: the command-line reference, generated from vaelab's argparse parser, so it cannot drift.

The page line `<!-- vaelab:cli -->` is replaced by one section per subcommand: what it does, a table of its
arguments (name, default, meaning) and its `--help` text as argparse prints it. An argument without a help
text stops the build with a message naming it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"
MARKER = "<!-- vaelab:cli -->"
HELP_WIDTH = "88"  # columns of the rendered --help text


class UndocumentedArgument(ValueError):
    """A command-line argument without a help text: the reference would have no meaning to print."""


def parser() -> argparse.ArgumentParser:
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    from vaelab.cli import _parser

    return _parser()


def subcommands(p: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in the order the parser lists them."""
    (action,) = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {a.dest: a.help or "" for a in action._choices_actions}
    return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]


def arguments(sub: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments of a subcommand, without -h/--help."""
    return [a for a in sub._actions if not isinstance(a, argparse._HelpAction)]


def _name(a: argparse.Action) -> str:
    """The argument as argparse writes it in --help: `--split {test,val,train}`, `--set SECTION.KEY=VALUE`."""
    return argparse.HelpFormatter("vaelab")._format_action_invocation(a)


def _default(a: argparse.Action) -> str:
    if a.nargs == 0:
        return "off"
    if a.default in (None, argparse.SUPPRESS) or a.default == []:
        return "required" if a.required or not a.option_strings and a.nargs not in ("?", "*") else "–"
    if isinstance(a.default, list):
        return "`" + " ".join(map(str, a.default)) + "`"
    return f"`{a.default}`"


def _meaning(a: argparse.Action) -> str:
    text = a.help or ""
    if a.option_strings and a.nargs is None and isinstance(a, argparse._AppendAction):
        text += " (repeatable)"
    return text.replace("|", "\\|")


def check(p: argparse.ArgumentParser) -> None:
    """Raise UndocumentedArgument naming every argument without a help text."""
    missing = [f"vaelab {name} {_name(a)}" for name, _, sub in subcommands(p) for a in arguments(sub) if not a.help]
    if missing:
        raise UndocumentedArgument("argument(s) without help= in src/vaelab/cli.py: " + "; ".join(missing))


def _help_text(sub: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH
    try:
        return sub.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def render() -> str:
    """The Markdown of the whole reference."""
    p = parser()
    check(p)
    out = ["## vaelab", "", f"{p.description}.", "", "```text", _help_text(p).rstrip(), "```", ""]
    for name, summary, sub in subcommands(p):
        out += [f"## vaelab {name}", "", summary[:1].upper() + summary[1:] + ".", "",
                "| argument | default | meaning |", "| --- | --- | --- |"]
        out += [f"| `{_name(a)}` | {_default(a)} | {_meaning(a)} |" for a in arguments(sub)]
        out += ["", "```text", _help_text(sub).rstrip(), "```", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return markdown.replace(MARKER, render()) if MARKER in markdown else markdown
