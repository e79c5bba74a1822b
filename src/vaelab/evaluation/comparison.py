"""Runs side by side: their evaluation numbers, a grouping config key, and the papers' reference numbers.

Works on plain dicts (a run's config.yaml and eval.json as read), so runs of any model family, older runs
and runs with missing fields all get a row; a missing value is an empty cell, never a dropped run.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from vaelab.evaluation.references import REFERENCE_METRICS, PaperReference

MISSING = None


@dataclass
class RunSummary:
    """What compare knows of one run folder; config and evaluation are None when absent or unreadable."""

    path: str
    status: str  # "evaluated", "not evaluated (no eval.json)", ...
    config: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    epochs_trained: int | None = None


def _layers(config: dict[str, Any]) -> Any:
    latent = (config.get("model") or {}).get("latent")
    return len(latent) if isinstance(latent, list) else MISSING


# Keys computed from a config rather than read from it (`--by layers`).
DERIVED_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {"layers": _layers}

# eval.json keys with a column of their own, in this order: (key, column title).
EVAL_COLUMNS: list[tuple[str, str]] = [
    ("split", "split"), ("n", "n"), ("iw_samples", "K"), ("elbo", "L_1"), ("elbo_se", "L_1 se"),
    ("log_likelihood", "L_K"), ("log_likelihood_se", "L_K se"), ("bits_per_dim", "bits/dim"),
    ("reconstruction", "reconstruction"),
]
_NOT_SHOWN = {"checkpoint", "epoch", "bound", "seconds", "kl_per_layer", "kl_per_unit", "active_units"}


def config_value(config: dict[str, Any] | None, key: str) -> Any:
    """The value of a dotted key (`model.latent`, `experiment`) or a derived key (`layers`); None if absent."""
    if config is None:
        return MISSING
    if key in DERIVED_KEYS:
        return DERIVED_KEYS[key](config)
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _sort_key(value: Any) -> tuple:
    """Numbers by value, lists by length then items, text alphabetically, missing values last."""
    if value is MISSING:
        return (3,)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, list):
        return (1, len(value), tuple(str(v) for v in value))
    return (2, str(value))


def _show(value: Any) -> Any:
    return "-".join(str(v) for v in value) if isinstance(value, list) else value


def _extra_eval_keys(runs: Sequence[RunSummary]) -> list[str]:
    """Scalar numbers of eval.json without a column of their own (e.g. a semi-supervised model's error)."""
    known = {k for k, _ in EVAL_COLUMNS} | _NOT_SHOWN
    keys = {k for r in runs for k, v in (r.evaluation or {}).items()
            if k not in known and isinstance(v, (int, float)) and not isinstance(v, bool)}
    return sorted(keys)


def _kl_and_units(evaluation: dict[str, Any]) -> tuple[Any, Any]:
    kl = evaluation.get("kl_per_layer")
    units = evaluation.get("active_units")
    total = sum(kl.values()) if isinstance(kl, dict) and kl else MISSING
    active = "/".join(str(v) for v in units.values()) if isinstance(units, dict) and units else MISSING
    return total, active


def _epochs(run: RunSummary) -> Any:
    """"trained/planned", e.g. 120/2000 for a run cut short or still going."""
    if run.epochs_trained is None:
        return MISSING
    planned = config_value(run.config, "train.epochs")
    return f"{run.epochs_trained}/{'?' if planned is MISSING else planned}"


def _row(run: RunSummary, by: str | None, extra: list[str], ref: PaperReference | None,
         paper: tuple[bool, list[str]]) -> list[Any]:
    """One run's cells in the order of comparison_table's header; paper = (source column?, metrics)."""
    ev = run.evaluation or {}
    row = [run.path] + ([_show(config_value(run.config, by))] if by else [])
    row += [run.status, config_value(run.config, "experiment"), config_value(run.config, "model.family"), _epochs(run)]
    row += [ev.get(key, MISSING) for key, _ in EVAL_COLUMNS]
    row += [*_kl_and_units(ev), *(ev.get(k, MISSING) for k in extra)]
    with_source, metrics = paper
    row += ([ref.source if ref else MISSING] if with_source else [])
    return row + [ref.numbers.get(m, MISSING) if ref else MISSING for m in metrics]


def comparison_table(runs: Sequence[RunSummary], by: str | None,
                     references: dict[str, PaperReference]) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): one row per run, sorted by the `by` key's value when given (ties keep their order).

    Paper columns appear when a run's experiment has a reference: its source, then one column per metric
    that some run's reference reports.
    """
    extra = _extra_eval_keys(runs)
    refs = [references.get(config_value(r.config, "experiment") or "") for r in runs]
    paper = (any(refs), [m for m in REFERENCE_METRICS if any(ref and m in ref.numbers for ref in refs)])
    header = (["run"] + ([by] if by else []) + ["status", "experiment", "family", "epochs"]
              + [title for _, title in EVAL_COLUMNS] + ["KL", "active units"] + extra
              + (["paper source"] if paper[0] else []) + [REFERENCE_METRICS[m] for m in paper[1]])
    rows = [_row(run, by, extra, ref, paper) for run, ref in zip(runs, refs)]
    if by:
        order = sorted(range(len(runs)), key=lambda i: _sort_key(config_value(runs[i].config, by)))
        rows = [rows[i] for i in order]
    return header, rows


def _markdown_cell(value: Any) -> str:
    if value is MISSING or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("|", "\\|")


def to_markdown(header: list[str], rows: list[list[Any]]) -> str:
    """A GitHub-flavoured Markdown table; missing values are shown as —."""
    lines = ["| " + " | ".join(_markdown_cell(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_csv(header: list[str], rows: list[list[Any]], path: str | Path) -> Path:
    """The same table as CSV with full-precision numbers; missing values are empty cells."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([["" if v is MISSING else v for v in row] for row in rows])
    return path
