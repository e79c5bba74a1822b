"""Per-epoch metrics: one JSON object a line in metrics.jsonl, and TensorBoard event files.

metrics.jsonl is rewritten whole, atomically, after every epoch (files.atomic_write), so a reader never
meets a half-written line; TensorBoard's event files are appended to, as TensorBoard expects.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter

from vaelab.files import write_text_atomic

METRICS_FILE = "metrics.jsonl"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The epoch records of a metrics.jsonl file, up to the first line that is not one (a torn line written by
    an earlier version, or damage): JSON objects with an integer epoch."""
    records = []
    path = Path(path)
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # bad JSON (JSONDecodeError), an over-long integer, too deep
            break
        if not (isinstance(record, dict) and type(record.get("epoch")) is int):
            break
        records.append(record)
    return records


class MetricsLog:
    """Appends epoch records; on resume keeps exactly the records up to the checkpoint's epoch."""

    def __init__(self, run_dir: Path, resume_epoch: int, tensorboard: bool = True) -> None:
        self.path = run_dir / METRICS_FILE
        self.lines = [json.dumps(r) + "\n" for r in read_metrics(self.path) if r["epoch"] <= resume_epoch]
        write_text_atomic(self.path, "".join(self.lines))
        self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_epoch + 1) if tensorboard else None

    def write(self, record: dict[str, Any]) -> None:
        self.lines.append(json.dumps(record) + "\n")
        write_text_atomic(self.path, "".join(self.lines))
        if self.writer is not None:
            for key, value in _scalars(record):
                self.writer.add_scalar(key, value, record["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _scalars(record: dict[str, Any], prefix: str = ""):
    """Flatten nested dicts of numbers into (tag, value) pairs; lists (per-unit KL) become per-index tags."""
    for key, value in record.items():
        tag = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _scalars(value, tag + "/")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, (int, float)) and math.isfinite(v):
                    yield f"{tag}/{i}", v
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and key != "epoch":
            yield tag, value
