"""Long runs that outlive the machine: what a run folder needs to continue, kept in git, and put back.

    python benchmarks/snapshots.py save [RUN ...]           # every run folder under benchmarks/runs by default
    python benchmarks/snapshots.py save --last-only RUN     # checkpoint.pt without best.pt (runs evaluated at the last)
    python benchmarks/snapshots.py save --no-weights RUN    # a finished run: its records only, not its checkpoints
    python benchmarks/snapshots.py restore                  # run folders missing or behind their snapshots
    python benchmarks/snapshots.py list

The run folders of the long benchmarks (benchmarks/runs/, ignored by git) live on one machine; a schedule of
thousands of epochs outlasts the machine it starts on, and a new machine starts without them. `save` copies a run
folder's checkpoints (checkpoint.pt, best.pt: git stores identical files once) and its records (config.yaml,
metrics.jsonl and every other .json, .jsonl and .yaml file) into benchmarks/snapshots/ under the same relative
path, to be committed; the .prev.pt copies, the TensorBoard events and the lock stay behind (and best.pt with
--last-only: the restored run writes a new one when its score next improves). It refuses a run
folder that a process is writing (stop the run first with kill -TERM PID: it saves its place). `restore` copies
a snapshot back where the run folder is missing or has fewer epochs in metrics.jsonl, so the next `train` of
the benchmark resumes where the snapshot stands; the long benchmarks call it themselves before they train.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from vaelab.train.runlock import RunFolderBusy, RunLock

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "benchmarks" / "runs"
SNAPSHOTS = ROOT / "benchmarks" / "snapshots"
WEIGHTS = {"all": ("checkpoint.pt", "best.pt"), "last": ("checkpoint.pt",), "none": ()}
RECORDS = ("*.json", "*.jsonl", "*.yaml")


def epochs_done(folder: Path) -> int:
    """Epochs recorded in folder/metrics.jsonl (0 without one)."""
    path = folder / "metrics.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _snapshot_of(run: Path) -> Path:
    """The snapshot folder of a run folder under benchmarks/runs (SystemExit with one line for any other)."""
    try:
        return SNAPSHOTS / run.resolve().relative_to(RUNS)
    except ValueError:
        raise SystemExit(f"snapshots: {run} is not under {RUNS}; give a run folder of the benchmarks") from None


def _files(folder: Path, weights: str) -> list[Path]:
    names = [folder / n for n in WEIGHTS[weights] if (folder / n).is_file()]
    return names + sorted(p for pattern in RECORDS for p in folder.glob(pattern) if p.is_file())


def save(run: Path, weights: str = "all") -> Path:
    """Copy what `run` needs to continue into its snapshot folder (replacing an older snapshot); returns it.

    weights: all (checkpoint.pt and best.pt), last (checkpoint.pt) or none (the records alone)."""
    target = _snapshot_of(run)
    if not (run / "config.yaml").is_file():
        raise SystemExit(f"snapshots: {run} is not a run folder (no config.yaml)")
    with RunLock(run):  # nobody writes the folder while it is copied
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in _files(run, weights):
            shutil.copy2(path, target / path.name)
    return target


def restore(run: Path) -> bool:
    """Put the snapshot of `run` back if the run folder is missing or behind it; True if it did."""
    source = _snapshot_of(run)
    has_run = (run / "config.yaml").is_file()
    if not (source / "config.yaml").is_file() or (has_run and epochs_done(run) >= epochs_done(source)):
        return False
    run.mkdir(parents=True, exist_ok=True)
    with RunLock(run):
        for path in source.iterdir():
            shutil.copy2(path, run / path.name)
    print(f"snapshots: {run} restored at epoch {epochs_done(run)}", file=sys.stderr)
    return True


def snapshot_folders() -> list[Path]:
    """Every run folder kept in benchmarks/snapshots, as its place under benchmarks/runs."""
    return sorted(RUNS / p.parent.relative_to(SNAPSHOTS) for p in SNAPSHOTS.rglob("config.yaml"))


def run_folders() -> list[Path]:
    """Every run folder under benchmarks/runs (a folder with a config.yaml and a metrics.jsonl)."""
    return sorted(p.parent for p in RUNS.rglob("metrics.jsonl") if (p.parent / "config.yaml").is_file())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["save", "restore", "list"])
    p.add_argument("runs", nargs="*", type=Path, help="run folders (default: all)")
    p.add_argument("--last-only", action="store_true", help="save checkpoint.pt but not best.pt")
    p.add_argument("--no-weights", action="store_true", help="save the records only (a finished run)")
    a = p.parse_intermixed_args()  # flags before or after the run folders
    if a.action == "save":
        weights = "none" if a.no_weights else "last" if a.last_only else "all"
        for run in a.runs or run_folders():
            try:
                print(f"{save(run, weights)}: epoch {epochs_done(run)}")
            except RunFolderBusy as err:
                raise SystemExit(f"snapshots: {err}") from None
    elif a.action == "restore":
        restored = [run for run in a.runs or snapshot_folders() if restore(run)]
        print(f"{len(restored)} run folders restored")
    else:
        for run in snapshot_folders():
            source = _snapshot_of(run)
            size = sum(f.stat().st_size for f in source.iterdir()) / 2**20
            print(f"{run.relative_to(RUNS)}: snapshot at epoch {epochs_done(source)} ({size:.1f} MiB), "
                  f"run folder at epoch {epochs_done(run)}")


if __name__ == "__main__":
    main()
