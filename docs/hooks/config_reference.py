"""MkDocs hook: the configuration reference, generated from the config dataclasses, so it cannot drift.

A page line `<!-- vaelab:config SECTION -->` (SECTION: top, data, model, train, eval) is replaced by the tables
of that section: every key with its type, its default and its meaning. The meaning is the field's trailing
`# comment` in the source (continued on comment lines aligned with it below); a comment line just above a
field, at the class body's indentation, heads a group of fields up to the next blank line. A field without a
trailing comment stops the build with a message naming it, and so does a section no page renders.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import re
import sys
import textwrap
import tokenize
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"
MARKER = re.compile(r"^<!-- vaelab:config (\w+) -->$", re.MULTILINE)
SECTIONS = ("top", "data", "model", "train", "eval")


class UndocumentedField(ValueError):
    """A config field without a trailing comment: the reference would have no meaning to print."""


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    default: str
    meaning: str
    group: str  # the comment heading the field's group, or ""


def _comments(source: str) -> tuple[dict[int, tuple[int, str]], set[int]]:
    """line -> (column, text) of every comment, and the lines that hold nothing but a comment."""
    comments, code_lines = {}, set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = (tok.start[1], tok.string.lstrip("#").strip())
        elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            for line in range(tok.start[0], tok.end[0] + 1):
                code_lines.add(line)
    return comments, set(comments) - code_lines


def _own_fields(cls: type) -> dict[str, tuple[str, str]]:
    """name -> (meaning, group) of the fields written in cls's own body (not inherited)."""
    source = textwrap.dedent(inspect.getsource(cls))
    comments, comment_only = _comments(source)
    body = ast.parse(source).body[0].body
    out, group = {}, ""
    previous_end = body[0].lineno - 1 if body else 0
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            previous_end = node.end_lineno
            continue
        above = [n for n in range(previous_end + 1, node.lineno) if n in comment_only]
        if above:
            group = " ".join(comments[n][1] for n in above)
        elif node.lineno - previous_end > 1:  # a blank line ends a group
            group = ""
        meaning, previous_end = _trailing(node, comments, comment_only)
        out[node.target.id] = (meaning, group)
    return out


def _trailing(node: ast.AnnAssign, comments: dict[int, tuple[int, str]], comment_only: set[int]) -> tuple[str, int]:
    """The trailing comment of a field with the aligned comment lines that continue it, and its last line."""
    line = next((n for n in range(node.lineno, node.end_lineno + 1) if n in comments and n not in comment_only), None)
    if line is None:
        return "", node.end_lineno
    column, text = comments[line]
    parts, n = [text], line + 1
    while n in comment_only and comments[n][0] == column:
        parts.append(comments[n][1])
        n += 1
    return " ".join(parts), max(n - 1, node.end_lineno)


def _type_name(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if args and type(None) in args:
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " or null"
    return getattr(hint, "__name__", str(hint))


def _default_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_default_text(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if value == "" else value
    return repr(value)


def field_docs(cls: type) -> list[FieldDoc]:
    """Every field of the dataclass cls (inherited ones included, in declaration order), documented.

    Raises UndocumentedField naming every field whose source line has no trailing comment."""
    written: dict[str, tuple[str, str]] = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        written.update(_own_fields(klass))
    hints = typing.get_type_hints(cls)
    docs, missing = [], []
    for f in dataclasses.fields(cls):
        meaning, group = written.get(f.name, ("", ""))
        if not meaning:
            missing.append(f.name)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        docs.append(FieldDoc(f.name, _type_name(hints[f.name]), _default_text(default), meaning, group))
    if missing:
        where = inspect.getsourcefile(cls)
        raise UndocumentedField(f"{cls.__name__} ({where}): no trailing '# meaning' comment on field(s) "
                                f"{', '.join(missing)}; the configuration reference prints that comment")
    return docs


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _tables(rows: list[tuple[str, FieldDoc]]) -> str:
    """Markdown tables of (key, field) rows; each group of fields gets its own table under its heading comment."""
    out, group = [], None
    for key, d in rows:
        if d.group != group:
            group = d.group
            out += ["", _cell(d.group), ""] if d.group else [""]
            out += ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        out.append(f"| `{key}` | {d.type} | `{d.default}` | {_cell(d.meaning)} |")
    return "\n".join(out).strip() + "\n"


def _section_rows(section: str, docs: list[FieldDoc]) -> list[tuple[str, FieldDoc]]:
    return [(f"{section}.{d.name}", d) for d in docs]


def model_classes() -> dict[type, list[str]]:
    """Each model family's Params class -> the families that take it, in the registry's order."""
    from vaelab.models import MODELS

    classes: dict[type, list[str]] = {}
    for family, model in MODELS.items():
        classes.setdefault(model.Params, []).append(family)
    return classes


def section_classes(section: str) -> list[type]:
    """The dataclasses whose fields make up a section's keys."""
    from vaelab.config import Config, DataConfig, ModelConfig
    from vaelab.evaluation.settings import EvalSettings
    from vaelab.train.settings import TrainSettings

    return {"top": [Config, ModelConfig], "data": [DataConfig], "model": list(model_classes()),
            "train": [TrainSettings], "eval": [EvalSettings]}[section]


def _with_choices(doc: FieldDoc, registry: dict) -> FieldDoc:
    """The field with the keys of the registry that holds its values appended: they are its choices."""
    return dataclasses.replace(doc, meaning=f"{doc.meaning}: " + " | ".join(registry))


def render(section: str) -> str:
    """The Markdown of one section of the reference."""
    from vaelab.config import Config, DataConfig, ModelConfig
    from vaelab.models import MODELS

    if section == "top":
        experiment = [("experiment", d) for d in field_docs(Config) if d.name == "experiment"]
        family = [("model.family", _with_choices(d, MODELS)) for d in field_docs(ModelConfig) if d.name == "family"]
        sections = ", ".join(f"`{d.name}` ({d.meaning})" for d in field_docs(Config) if d.name != "experiment")
        return f"A config file holds the sections {sections}, and two keys outside their tables:\n\n" + _tables(
            experiment + family)
    if section == "data":
        from vaelab.data import LOADERS

        rows = [(key, _with_choices(d, LOADERS) if d.name == "name" else d)
                for key, d in _section_rows("data", field_docs(DataConfig))]
        return _tables(rows)
    if section != "model":
        (cls,) = section_classes(section)
        return _tables(_section_rows(section, field_docs(cls)))
    parts = []
    for cls, families in model_classes().items():
        names = " or ".join(f"`{f}`" for f in families)
        doc = " ".join((inspect.getdoc(cls) or "").split())
        parts.append(f"### {', '.join(f'`{f}`' for f in families)}\n\n`model.family:` {names} takes the keys of "
                     f"`{cls.__module__}.{cls.__name__}`. {_cell(doc)}\n\n"
                     + _tables(_section_rows("model", field_docs(cls))))
    return "\n".join(parts)


# ---- the MkDocs side -------------------------------------------------------------------------------------------

_rendered: set[str] = set()


def on_config(config: Any) -> Any:
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    _rendered.clear()
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match) -> str:
        section = match.group(1)
        if section not in SECTIONS:
            raise ValueError(f"{page.file.src_uri}: unknown config section {section!r}; use one of {SECTIONS}")
        _rendered.add(section)
        return render(section)

    return MARKER.sub(replace, markdown)


def on_post_build(config: Any) -> None:
    missing = [s for s in SECTIONS if s not in _rendered]
    if missing:
        raise ValueError(f"no page renders the config section(s) {', '.join(missing)}: add "
                         f"'<!-- vaelab:config SECTION -->' lines to docs/reference/config.md")
