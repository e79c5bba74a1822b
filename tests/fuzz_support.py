"""What the fuzz tests share: hypothesis settings, junk values, and the CLI called in-process with its outcome.

The guarantee the fuzz tests check: whatever the input, `vaelab` ends in a run (exit code 0) or in exactly
one line on stderr, `vaelab: error: ...`, with exit code 2 -- never a Python traceback.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from vaelab.cli import main

ERROR_PREFIX = "vaelab: error: "


def fuzz_settings(max_examples: int) -> settings:
    """A bounded number of examples, derandomised (the same examples on every run and machine), no database."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


# Scalars that a config must refuse or accept with care: None, bools, big and negative integers, NaN, inf,
# strings YAML or float() read as numbers, empty strings.
ODD_NUMBERS = st.sampled_from([0, -1, -(2**31), 2**31, 2**63, 10**30, 10**400, 1e308, -0.0, 1e-320])
ODD_STRINGS = st.sampled_from(["", "nan", "NaN", ".nan", "inf", "-inf", ".inf", "1e999", "auto", "none", "null",
                               "~", "true", "1e-3", "0x10", "\n", "a\nb", "[1]", "{a: 1}"])
SCALARS = (st.none() | st.booleans() | st.integers() | ODD_NUMBERS | st.floats() | ODD_STRINGS
           | st.text(max_size=12))
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=3), max_leaves=8)


@dataclass
class Outcome:
    """What a `vaelab` command did: its exit code, stdout and stderr."""

    code: int | str | None
    out: str
    err: str

    @property
    def error(self) -> str:
        return self.err.strip()


def run_cli(argv: list[str]) -> Outcome:
    """vaelab.cli.main(argv) in this process; argparse's SystemExit is caught, any other exception propagates."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as stop:
            code = stop.code
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_one_line_error(outcome: Outcome) -> str:
    """Exit code 2 and stderr exactly one line `vaelab: error: ...`; returns the message."""
    lines = outcome.err.splitlines()
    assert outcome.code == 2, f"exit code {outcome.code!r}, stderr {outcome.err!r}"
    assert len(lines) == 1 and lines[0].startswith(ERROR_PREFIX), f"stderr is not one error line: {outcome.err!r}"
    return lines[0][len(ERROR_PREFIX):]


def assert_run_or_one_line_error(outcome: Outcome) -> bool:
    """Either success (exit code 0) or a one-line error; returns True for success."""
    if outcome.code == 0:
        assert "Traceback" not in outcome.err, outcome.err
        return True
    assert_one_line_error(outcome)
    return False
