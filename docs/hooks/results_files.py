"""MkDocs hook: the recorded benchmark results (benchmarks/results/*) become pages and files of the site.

Each results file is served under results/, so the docs link to the very files the benchmarks write
(`[lvae_mnist.md](../results/lvae_mnist.md)`) and a link to a file that does not exist fails the strict build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
KINDS = (".md", ".png", ".json")


def on_files(files: Files, config: Any) -> Files:
    for path in sorted(RESULTS.iterdir()):
        if path.suffix in KINDS:
            files.append(File.generated(config, f"results/{path.name}", abs_src_path=str(path)))
    return files
