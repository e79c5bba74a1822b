"""One writer per run folder: an exclusive lock on RUN/.lock that the operating system holds for the writer.

The lock is fcntl.flock on the file RUN/.lock, which also records the holder's process id. The kernel drops
the lock the moment its holder exits, however it exits (kill -9 included), so a stale lock never blocks a
resume. A second writer stops at once with RunFolderBusy, naming the folder and the holder's process id.
Readers (evaluate, sample, report) take no lock: every file a writer replaces is replaced atomically.

In a data-parallel run only rank 0 writes: rank 0 takes the lock and every process learns whether it got it,
so that all stop together rather than wait in a collective for a process that has stopped. A launcher that
spawns the processes holds the lock itself and tells fit() not to take it (hold_lock=False).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from vaelab.train.distributed import Group, all_gather

try:
    import fcntl
except ImportError:  # not a POSIX system: no lock
    fcntl = None

LOCK_FILE = ".lock"


class RunFolderBusy(RuntimeError):
    """Another process is writing the run folder."""


class RunLock:
    """Context manager: hold RUN/.lock exclusively while writing RUN (rank 0 of `group` takes it)."""

    def __init__(self, run_dir: str | Path, group: Group = Group()) -> None:
        self.run_dir, self.group = Path(run_dir), group
        self.path = self.run_dir / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        message = ""
        if self.group.main:
            try:
                self._acquire()
            except RunFolderBusy as err:
                message = str(err)
            except OSError as err:
                message = f"cannot lock run folder {self.run_dir} ({err.strerror}); check that it is writable"
        message = all_gather(message, self.group)[0]  # collective: every process learns rank 0's answer
        if message:
            raise RunFolderBusy(message)
        return self

    def _acquire(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f"process {holder}" if holder else "another process"
                stop = f"; stop it with kill -TERM {holder} (it saves its place)" if holder else ""
                raise RunFolderBusy(f"run folder {self.run_dir} is being written by {who} (lock {self.path}): "
                                    f"wait for it to finish{stop}, or use another run folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self.fd = fd

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)  # no pid: nobody holds it
        finally:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


def _read_pid(fd: int) -> int | None:
    """The process id the holder wrote into the lock file (None while it has not written it yet)."""
    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
    return int(text) if text.isdigit() else None
