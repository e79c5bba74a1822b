"""Graceful stop: SIGINT (Ctrl-C) and SIGTERM let the current step finish, then the run saves its place.

While fit() runs, the first SIGINT or SIGTERM only records the signal; the loop finishes the step it is in,
writes a checkpoint holding its position inside the epoch, and raises TrainingStopped, whose message is the
command that resumes. A second signal raises KeyboardInterrupt at once: a save under way is abandoned, its
temporary file removed, and the checkpoint written before stays as it was (checkpoints are replaced
atomically). A signal that is ignored when fit() starts stays ignored (a launcher that forwards SIGTERM to its
processes has them ignore the terminal's SIGINT).
"""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingStopped(Exception):
    """Training stopped on a signal after saving its place; str() says where and how to resume."""

    def __init__(self, message: str, signum: int | None) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number (130 for Ctrl-C)."""
        return 128 + (self.signum or signal.SIGINT)


def resume_command(run_dir: str | Path, world: int = 1) -> str:
    """The command line that continues the run in run_dir."""
    return f"vaelab train --resume {shlex.quote(str(run_dir))}" + (f" --nproc {world}" if world > 1 else "")


def signal_name(signum: int | None) -> str:
    return signal.Signals(signum).name if signum else "a signal to another process of the run"


class StopSignals:
    """Context manager: `received` is the first SIGINT/SIGTERM caught inside it (None until then)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.received is not None

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may set handlers; elsewhere signals keep their meaning
        for sig in SIGNALS:
            current = signal.getsignal(sig)
            if current is signal.SIG_IGN:
                continue
            self._previous[sig] = signal.SIG_DFL if current is None else current
            signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            return
        raise KeyboardInterrupt  # the second signal: stop now

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
