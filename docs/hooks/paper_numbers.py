"""MkDocs hook: the table of the papers' numbers that `vaelab compare` shows, generated from
src/vaelab/evaluation/references.py, so the page lists exactly what the code holds.

The page line `<!-- vaelab:paper-numbers -->` is replaced by one row per experiment name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[2] / "src"
MARKER = "<!-- vaelab:paper-numbers -->"


def render() -> str:
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
    from vaelab.evaluation.references import REFERENCE_METRICS, paper_references

    metrics = list(REFERENCE_METRICS)
    rows = ["| `experiment` | source | " + " | ".join(REFERENCE_METRICS[m] for m in metrics) + " | note |",
            "| --- | --- | " + " | ".join("---" for _ in metrics) + " | --- |"]
    for name, ref in paper_references().items():
        cells = [f"{ref.numbers[m]:g}" if m in ref.numbers else "" for m in metrics]
        rows.append(f"| `{name}` | {ref.source} | " + " | ".join(cells) + f" | {ref.note} |")
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return markdown.replace(MARKER, render()) if MARKER in markdown else markdown
