"""Griffe extension for the API reference: vaelab's docstrings are plain text, not Markdown.

Two things in them would render wrongly as Markdown: an indented block right under a line of text (a table of
outputs, a formula) would be folded into the paragraph, and two `*` of products such as `S*B` would turn the
text between them into italics. This extension puts a blank line around every indented block, so it renders
as a code block, and escapes `*` outside code (a single `*word*` stays emphasis); the docstrings in the source stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

CODE_SPAN = re.compile(r"(`[^`]*`)")
EMPHASIS = re.compile(r"(?<![\w*])\\\*([A-Za-z][\w-]*)\\\*(?![\w*])")  # an escaped *word*, meant as emphasis


def _escape(line: str) -> str:
    parts = CODE_SPAN.split(line)
    return "".join(p if p.startswith("`") else EMPHASIS.sub(r"*\1*", p.replace("*", "\\*")) for p in parts)


def plain_to_markdown(text: str) -> str:
    """The docstring text with its indented blocks set off by blank lines and its `*` escaped outside code."""
    out: list[str] = []
    in_block = False
    for line in text.split("\n"):
        indented = line.startswith("    ") and line.strip() != ""
        if indented and not in_block and out and out[-1].strip():
            out.append("")
        if not indented and line.strip() and in_block and out and out[-1].strip():
            out.append("")
        if line.strip():
            in_block = indented
        out.append(line if indented else _escape(line))
    return "\n".join(out)


class PlainDocstrings(griffe.Extension):
    def on_instance(self, *, node: Any, obj: griffe.Object, agent: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_to_markdown(obj.docstring.value)
