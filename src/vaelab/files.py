"""Files that readers never see half-written, and SHA-256 digests of files.

atomic_write writes to a temporary file in the target's own folder, flushes and fsyncs it, then renames it
over the target (os.replace) and fsyncs the folder: a reader opens either the old or the new file, and a
process killed at any moment leaves the old one. Running out of disk space raises DiskFullError and leaves the
old file as it was. Temporary names start with a dot and end in .tmp (`.NAME.XXXXXXXX.tmp`), so that the
writer that owns NAME can remove those a killed process left (remove_temporaries).

file_digest and verify_file are for any format that records the digest of a file it ships beside it (an
exported model, for instance); checkpoints carry a digest of their own content (train/checkpoint.py).
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
CHUNK = 1 << 20  # bytes read at a time by file_digest


class DiskFullError(RuntimeError):
    """The disk (or quota) filled up while a file was written; the previous version of the file is intact."""


class DamagedFileError(ValueError):
    """A file whose SHA-256 digest is not the one recorded for it."""


def fsync_folder(folder: str | Path) -> None:
    """Make a rename inside `folder` durable (no-op where folders cannot be opened, e.g. on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None],
                 before_replace: Callable[[], None] | None = None) -> Path:
    """Call write(f) on a temporary file beside `path`, make it durable, then rename it over `path`.

    before_replace runs once the new content is safely on disk, just before the rename (checkpoints keep
    their previous version there). Any exception, a second Ctrl-C included, removes the temporary file and
    leaves `path` untouched; a full disk raises DiskFullError.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _disk_full(err, path) if err.errno in DISK_FULL else err
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide the file from the folder's other readers
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.errno in DISK_FULL:
            raise _disk_full(err, path) from None
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _disk_full(err: OSError, path: Path) -> DiskFullError:
    return DiskFullError(f"no space left on the disk while writing {path} ({os.strerror(err.errno)}); the "
                         f"previous {path.name} is intact; free some space")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Replace `path` by `text` (UTF-8) atomically."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda f: f.write(data))


def remove_temporaries(folder: str | Path, names: Iterable[str]) -> None:
    """Remove the temporary files of `names` (in `folder`) that a killed writer left behind."""
    for name in names:
        for tmp in Path(folder).glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def file_digest(path: str | Path) -> str:
    """The SHA-256 digest of a file's bytes, as 64 hex digits (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: str | Path, expected: str) -> None:
    """Raise DamagedFileError (one line, naming the file) unless the file's SHA-256 digest is `expected`."""
    path = Path(path)
    if not path.is_file():
        raise DamagedFileError(f"{path} is missing")
    have = file_digest(path)
    if have != expected.lower():
        raise DamagedFileError(f"{path} is damaged: its SHA-256 digest is {have[:12]}..., the recorded one "
                               f"{expected[:12]}...; restore the file from a copy or write it again")
