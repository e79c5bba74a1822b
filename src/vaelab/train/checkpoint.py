"""Checkpoints: written atomically with a SHA-256 digest of their content, loaded with weights_only=True.

A checkpoint holds only tensors and plain Python values: model and optimiser state, epoch, random-number
states, counters and a metadata dict (the model family and its parameters, so that a checkpoint from
another model is refused with a clear message). Format 2 adds `sha256`, the digest of everything else in
the file (content_digest); load_checkpoint recomputes it, so a file damaged on disk or in transfer is
refused with a one-line message naming it. Format 1 files (written before digests existed) still load.

Each save first keeps the checkpoint it replaces as NAME.prev.pt (checkpoint.prev.pt, best.prev.pt): the
loader turns to that previous file only when asked (fallback=True, `--fallback-checkpoint` on the command
line), and says so on stderr; otherwise a damaged file is an error that names the previous one.
torch.load runs with weights_only=True: a file crafted to run code when unpickled is refused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from vaelab.files import DamagedFileError, atomic_write, file_digest, fsync_folder, remove_temporaries, verify_file

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
DIGEST_KEY = "sha256"

__all__ = ["CheckpointError", "save_atomic", "load_checkpoint", "read_checkpoint", "check_metadata", "verify",
           "content_digest", "previous_path", "promote_previous", "clean_stale_temporaries", "file_digest", "verify_file", "DamagedFileError"]


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, damaged or belongs to another model."""


def previous_path(path: str | Path) -> Path:
    """Where the checkpoint that `path` replaced is kept: checkpoint.pt -> checkpoint.prev.pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def content_digest(state: Any) -> str:
    """SHA-256 over a canonical encoding of a checkpoint's content (tensors by dtype, shape and bytes; plain
    values by type and value; dicts in their order), the same before saving and after loading."""
    h = hashlib.sha256()
    _feed(h, state)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}:".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}:".encode())
        for key, value in obj.items():
            _feed(h, key)
            _feed(h, value)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}:".encode())
        for value in obj:
            _feed(h, value)
    elif isinstance(obj, (str, bytes)):
        data = obj.encode() if isinstance(obj, str) else obj
        h.update(f"{'S' if isinstance(obj, str) else 'B'}{len(data)}:".encode())
        h.update(data)
    elif obj is None or isinstance(obj, (bool, int, torch.dtype, torch.device)):
        h.update(f"{type(obj).__name__}:{obj};".encode())
    elif isinstance(obj, float):
        h.update(f"F{obj.hex()};".encode())
    else:
        raise TypeError(f"a checkpoint cannot hold a {type(obj).__name__}")


def save_atomic(state: dict[str, Any], path: str | Path, keep_previous: bool = True,
                check_previous: bool = False) -> None:
    """Write `state` with its digest to a temporary file beside `path`, fsync, keep the file it replaces as
    previous_path(path) (keep_previous; with check_previous only if that file verifies, so that a damaged
    file never takes the place of a good previous one), then rename over `path`.

    A process killed (or interrupted twice) at any moment leaves the old checkpoint, never a partial one; a
    full disk raises files.DiskFullError with the old checkpoint intact.
    """
    path = Path(path)
    payload = {"format": FORMAT_VERSION, **{k: v for k, v in state.items() if k not in ("format", DIGEST_KEY)}}
    payload[DIGEST_KEY] = content_digest(payload)
    keep = keep_previous and not (check_previous and path.is_file() and not _verifies(path))
    atomic_write(path, lambda f: torch.save(payload, f), before_replace=(lambda: _keep_previous(path)) if keep else None)


def _verifies(path: Path) -> bool:
    try:
        verify(path)
    except CheckpointError:
        return False
    return True


def _keep_previous(path: Path) -> None:
    """previous_path(path) <- path, without path ever being absent (a hard link, else a copy)."""
    if not path.is_file():
        return
    prev = previous_path(path)
    tmp = prev.with_name(f".{prev.name}.link.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
        os.replace(tmp, prev)
    except OSError:  # no hard links on this file system
        tmp.unlink(missing_ok=True)
        with path.open("rb") as src:
            atomic_write(prev, lambda f: shutil.copyfileobj(src, f))
    fsync_folder(path.parent)


def _why_unreadable(err: Exception) -> str:
    text = str(err)
    # The weights-only unpickler met an object that plain unpickling would have built or called; torch words it
    # "Unsupported global: GLOBAL m.f" or "Trying to load unsupported GLOBAL m.f whose module m is blocked".
    code = [line.strip() for line in text.splitlines() if "unsupported global" in line.lower()]
    if code:
        return f"it holds Python objects that loading would run ({code[0].split(': ', 1)[-1][:80]}); refused"
    return f"{type(err).__name__}; it is damaged or not a vaelab checkpoint"


def verify(path: str | Path) -> dict[str, Any]:
    """The checkpoint at `path`, its digest checked; CheckpointError (one line naming the file) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the run first (vaelab train ... --run-dir)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols would break the one-line error
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise CheckpointError(f"checkpoint {path} cannot be read ({_why_unreadable(err)})") from None
    if not isinstance(state, dict) or type(state.get("format")) is not int or state["format"] not in READABLE_FORMATS:
        raise CheckpointError(f"{path} is not a vaelab checkpoint of format {FORMAT_VERSION}")
    if state["format"] >= 2:
        recorded = state.pop(DIGEST_KEY, None)
        try:
            actual = content_digest(state)
        except TypeError as err:
            raise CheckpointError(f"{path} is not a vaelab checkpoint ({err})") from None
        if recorded != actual:
            raise CheckpointError(f"checkpoint {path} is damaged: its SHA-256 digest does not match its content")
        state[DIGEST_KEY] = recorded
    _check_fields(state, path)
    return state


def _check_fields(state: dict[str, Any], path: Path) -> None:
    """The fields every reader of a checkpoint uses, with their types."""
    model, metadata, epoch = state.get("model"), state.get("metadata", {}), state.get("epoch")
    ok = (isinstance(model, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in model.items())
          and isinstance(metadata, dict) and isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0)
    if not ok:
        raise CheckpointError(f"{path} is not a vaelab checkpoint (its model, metadata or epoch is missing)")


def read_checkpoint(path: str | Path, fallback: bool = False) -> tuple[Path, dict[str, Any]]:
    """(the file read, its state): `path`, or with fallback its previous version when `path` is damaged.

    Without fallback a damaged `path` raises CheckpointError, which names the previous version if there is one.
    With fallback the switch is announced on stderr.
    """
    path = Path(path)
    prev = previous_path(path)
    try:
        return path, verify(path)
    except CheckpointError as err:
        if not prev.is_file():
            raise
        if not fallback:
            raise CheckpointError(f"{err}; the previous checkpoint {prev} is kept: add --fallback-checkpoint "
                                  "to use it") from None
        try:
            state = verify(prev)
        except CheckpointError as prev_err:
            raise CheckpointError(f"{err}; and the previous one: {prev_err}") from None
        print(f"vaelab: {err}; using the previous checkpoint {prev} (epoch {state['epoch']}) instead",
              file=sys.stderr)
        return prev, state


def check_metadata(path: Path, state: dict[str, Any], expect_metadata: dict[str, Any] | None = None,
                   normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
    """CheckpointError unless the checkpoint's metadata (mapped by normalise) holds the items of expect_metadata."""
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


def load_checkpoint(path: str | Path, expect_metadata: dict[str, Any] | None = None,
                    normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
                    fallback: bool = False) -> dict[str, Any]:
    """Load a checkpoint safely (read_checkpoint); if expect_metadata is given, its items must match.

    normalise maps the checkpoint's metadata before the comparison, e.g. to fill in model settings added
    after the checkpoint was written with their defaults.
    """
    path, state = read_checkpoint(path, fallback)
    check_metadata(path, state, expect_metadata, normalise)
    return state


def promote_previous(path: str | Path) -> Path:
    """After a fallback: keep the damaged `path` as NAME.damaged and put a copy of its previous version in its
    place, so that the next save keeps a good previous checkpoint. Returns where the damaged file went."""
    path = Path(path)
    damaged = path.with_name(path.name + ".damaged")
    if path.exists():
        os.replace(path, damaged)
    with previous_path(path).open("rb") as src:
        atomic_write(path, lambda f: shutil.copyfileobj(src, f))
    return damaged


def clean_stale_temporaries(folder: str | Path, names: tuple[str, ...] = ()) -> None:
    """Remove temporary files left by a process killed while writing a checkpoint (and those of `names`)."""
    for tmp in Path(folder).glob("*.pt.*.tmp"):  # the names of earlier versions
        tmp.unlink(missing_ok=True)
    for tmp in Path(folder).glob(".*.prev.pt.link.tmp"):
        tmp.unlink(missing_ok=True)
    remove_temporaries(folder, names)
