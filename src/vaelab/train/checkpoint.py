"""Checkpoints: written atomically, loaded with weights_only=True (no pickled code is ever run).

A checkpoint holds only tensors and plain Python values: model and optimiser state, epoch, random-number
states, counters and a metadata dict (the model family and its parameters, so that a checkpoint from
another model is refused with a clear message).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or belongs to another model."""


def save_atomic(state: dict[str, Any], path: str | Path) -> None:
    """torch.save to a temporary file in the same folder, fsync, then rename over `path`.

    A process killed at any moment leaves either the old or the new checkpoint, never a partial one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT_VERSION, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_checkpoint(path: str | Path, expect_metadata: dict[str, Any] | None = None,
                    normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Load a checkpoint safely; if expect_metadata is given, its items must match the checkpoint's.

    normalise maps the checkpoint's metadata before the comparison, e.g. to fill in model settings added
    after the checkpoint was written with their defaults.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the run first (vaelab train ... --run-dir)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise CheckpointError(f"checkpoint {path} cannot be read ({type(err).__name__}); it is corrupt or not a vaelab checkpoint") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a vaelab checkpoint of format {FORMAT_VERSION}")
    metadata = state.get("metadata", {})
    if normalise is not None:
        metadata = normalise(metadata)
    for key, want in (expect_metadata or {}).items():
        have = metadata.get(key)
        if have != want:
            raise CheckpointError(
                f"checkpoint {path} is from another model ({key} = {have!r}, config says {want!r}); "
                "use the run folder's own config.yaml or start a new --run-dir"
            )
    return state


def clean_stale_temporaries(folder: str | Path) -> None:
    """Remove temporary files left by a process killed while writing a checkpoint."""
    for tmp in Path(folder).glob("*.pt.*.tmp"):
        tmp.unlink(missing_ok=True)
