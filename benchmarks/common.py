"""Shared helpers of the benchmarks: the machine's description and writing results (json + md)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict:
    """What ran the benchmark: CPU model, cores, threads torch uses, torch version."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version()}


def header() -> dict:
    return {"command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "torch": torch.__version__}


def write_results(name: str, figures: dict, markdown: str) -> Path:
    """benchmarks/results/<name>.json (header + figures) and <name>.md (the header, then the table)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {**header(), **figures}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    m = record["machine"]
    md = (f"# {name}\n\nCommand: `{record['command']}`  \nDate: {record['date']}  \n"
          f"Machine: {m['cpu']}, {m['cores']} cores, torch {record['torch']} ({m['torch_threads']} threads)\n\n"
          + markdown.strip() + "\n")
    (RESULTS / f"{name}.md").write_text(md)
    return RESULTS / f"{name}.md"


def matmul_peak_gflops(n: int = 1024, seconds: float = 3.0) -> float:
    """The machine's own float32 matmul throughput (GFLOP/s) with torch's current thread setting."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    return 2 * n ** 3 * count / (time.perf_counter() - start) / 1e9
