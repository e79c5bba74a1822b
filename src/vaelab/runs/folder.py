"""The files of a run folder, its config.yaml, and the error for a folder that cannot do what is asked."""

from __future__ import annotations

from pathlib import Path

from vaelab.config import Config, load_config
from vaelab.files import write_text_atomic

CONFIG_FILE, EVAL_FILE, LABELLED_FILE = "config.yaml", "eval.json", "labelled.json"


class RunError(ValueError):
    """A run folder that is missing, already used, or asked for something it cannot do."""


def _write_text_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def _require_run_folder(run_dir: Path) -> None:
    if not (run_dir / CONFIG_FILE).is_file():
        raise RunError(f"{run_dir} is not a run folder (no {CONFIG_FILE}); start one with vaelab train CONFIG --run-dir {run_dir}")


def _run_config(run_dir: Path, overrides: list[str]) -> Config:
    """A run folder's config.yaml with `--set` overrides (already checked by the caller)."""
    _require_run_folder(run_dir)
    return load_config(run_dir / CONFIG_FILE, overrides)
