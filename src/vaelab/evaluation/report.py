"""One self-contained HTML page from report sections: text, tables and PNG figures embedded as base64.

The page makes no network request at all: no scripts, no external style sheets, fonts or images; every
image is a data: URL, every style inline in the page's own <style> element.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1150px; margin: 2em auto;
       padding: 0 1em; color: #1a1a1a; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .7em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .85em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #444; margin-top: .3em; }
p.note { color: #8a4b00; }
nav a { margin-right: 1em; }
"""


@dataclass
class Table:
    header: list[str]
    rows: list[list[object]]


@dataclass
class Image:
    path: Path  # a PNG file, embedded into the page
    caption: str


@dataclass
class Section:
    """One part of the report, drawn in this order: paragraphs, notes, tables, preformatted text, images."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings: data missing, a part that could not be drawn
    tables: list[Table] = field(default_factory=list)
    preformatted: str | None = None
    images: list[Image] = field(default_factory=list)


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


def _cell(value: object, tag: str = "td") -> str:
    if isinstance(value, float):
        return f'<{tag} class="num">{value:.3f}</{tag}>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<{tag} class="num">{value}</{tag}>'
    return f"<{tag}>{html.escape(str(value))}</{tag}>"


def render_table(table: Table) -> str:
    head = "".join(_cell(h, "th") for h in table.header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def embed_png(path: Path) -> str:
    """A data: URL holding the PNG file's bytes."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_section(section: Section) -> str:
    parts = [f'<section id="{_anchor(section.title)}"><h2>{html.escape(section.title)}</h2>']
    parts += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in section.notes]
    parts += [render_table(t) for t in section.tables]
    if section.preformatted is not None:
        parts.append(f"<pre>{html.escape(section.preformatted)}</pre>")
    for image in section.images:
        alt = html.escape(image.caption, quote=True)
        parts.append(f'<figure><img src="{embed_png(image.path)}" alt="{alt}">'
                     f"<figcaption>{html.escape(image.caption)} ({html.escape(image.path.name)})</figcaption></figure>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(title: str, sections: Sequence[Section]) -> str:
    """The whole page; every image embedded, nothing fetched."""
    nav = " ".join(f'<a href="#{_anchor(s.title)}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(render_section(s) for s in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        # The policy forbids every fetch except data: images, so a slip can never reach the network.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1><nav>{nav}</nav>\n{body}\n</body></html>\n"
    )
