"""Fixtures for the data tests: an isolated search environment, no network, tiny example counts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vaelab.data import download, locate, sources

from .helpers import N_TEST, N_TRAIN, Places


def _no_network(url: str):
    raise AssertionError(f"a test tried to open {url}")


@pytest.fixture(autouse=True)
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Places:
    """Point HOME and the system data directory into tmp_path, clear VAELAB_DATA, forbid network,
    and make mnist / fashion-mnist expect the tiny sets' example counts."""
    found = Places(tmp_path / "home", tmp_path / "env", tmp_path / "system", tmp_path)
    found.home.mkdir()
    monkeypatch.setenv("HOME", str(found.home))
    monkeypatch.delenv(locate.ENV_VAR, raising=False)
    monkeypatch.setattr(locate, "SYSTEM_DATA_DIR", found.system)
    monkeypatch.setattr(download, "open_url", _no_network)
    for name, source in list(sources.IDX_SOURCES.items()):
        tiny = dataclasses.replace(source, train_count=N_TRAIN, test_count=N_TEST)
        monkeypatch.setitem(sources.IDX_SOURCES, name, tiny)
    return found
