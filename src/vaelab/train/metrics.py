"""Per-epoch metrics: one JSON object a line in metrics.jsonl, and TensorBoard event files."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All complete records of a metrics.jsonl file (a torn last line is ignored)."""
    records = []
    path = Path(path)
    if not path.is_file():
        return records
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


class MetricsLog:
    """Appends epoch records; on resume keeps exactly the records up to the checkpoint's epoch."""

    def __init__(self, run_dir: Path, resume_epoch: int, tensorboard: bool = True) -> None:
        self.path = run_dir / "metrics.jsonl"
        kept = [r for r in read_metrics(self.path) if r.get("epoch", 0) <= resume_epoch]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, self.path)
        self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_epoch + 1) if tensorboard else None

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
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
