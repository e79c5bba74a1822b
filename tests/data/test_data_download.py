"""Downloading with checksum verification, through fake openers (never the network)."""

from __future__ import annotations

import dataclasses
import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from vaelab.data import DataError, download_dataset, load_dataset, read_idx
from vaelab.data import download, sources

from .helpers import Places, sha256_of_set, write_tiny_set

FAKE_BASE = "https://example.invalid/mnist/"


@pytest.fixture
def remote(places: Places, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny set standing for the canonical files; mnist's source points at it by checksum."""
    directory = write_tiny_set(places.tmp / "remote", seed=3)
    source = dataclasses.replace(sources.IDX_SOURCES["mnist"], base_url=FAKE_BASE,
                                 sha256=sha256_of_set(directory))
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", source)
    return directory


def fake_opener(directory: Path):
    """An opener serving files of `directory` for URLs under FAKE_BASE."""
    def opener(url: str) -> io.BytesIO:
        assert url.startswith(FAKE_BASE)
        return io.BytesIO((directory / url[len(FAKE_BASE):]).read_bytes())
    return opener


def test_download_verifies_and_places_files(places: Places, remote: Path) -> None:
    dest = places.tmp / "dest"
    assert download_dataset("mnist", dest, opener=fake_opener(remote)) == dest
    for file in remote.iterdir():
        assert (dest / file.name).read_bytes() == file.read_bytes()
    assert not list(dest.glob(".*part"))


def test_download_from_file_url(places: Places, remote: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = dataclasses.replace(sources.IDX_SOURCES["mnist"], base_url=remote.as_uri() + "/")
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", source)
    dest = download_dataset("mnist", places.tmp / "dest", opener=urllib.request.urlopen)
    np.testing.assert_array_equal(read_idx(dest / "t10k-labels-idx1-ubyte.gz"),
                                  read_idx(remote / "t10k-labels-idx1-ubyte.gz"))


def test_checksum_mismatch_deletes_partial_file(places: Places, remote: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    source = sources.IDX_SOURCES["mnist"]
    wrong = dict(source.sha256, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setitem(sources.IDX_SOURCES, "mnist", dataclasses.replace(source, sha256=wrong))
    dest = places.tmp / "dest"
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: SHA-256 [0-9a-f]{64} differs"):
        download_dataset("mnist", dest, opener=fake_opener(remote))
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()
    assert not list(dest.glob(".*part"))


def test_already_downloaded_files_are_not_fetched_again(places: Places, remote: Path) -> None:
    dest = download_dataset("mnist", places.tmp / "dest", opener=fake_opener(remote))

    def refuse(url: str) -> io.BytesIO:
        raise AssertionError(f"fetched {url} again")
    download_dataset("mnist", dest, opener=refuse)


def test_network_failure_lists_places_and_remedies(places: Places,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str) -> io.BytesIO:
        raise urllib.error.URLError("no route to host")
    monkeypatch.setenv("VAELAB_DATA", str(places.env))
    monkeypatch.setattr(download, "open_url", offline)
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist")
    message = str(caught.value)
    assert "\n" not in message and "no route to host" in message
    for place in [places.env / "fashion-mnist", places.env,
                  places.home / ".cache" / "vaelab" / "fashion-mnist", places.system / "fashion-mnist"]:
        assert str(place) in message
    assert "data.root" in message and "VAELAB_DATA" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert not list((places.home / ".cache" / "vaelab" / "fashion-mnist").glob("*"))


def test_load_dataset_downloads_into_cache(places: Places, remote: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "open_url", fake_opener(remote))
    data = load_dataset("mnist")
    cache = places.home / ".cache" / "vaelab" / "mnist"
    names = sorted(file.name for file in remote.iterdir())
    assert sorted(file.name for file in cache.iterdir()) == names
    assert data.x_train.shape == (6, 784)
    # A second load finds the cache and does not download.
    monkeypatch.setattr(download, "open_url", lambda url: pytest.fail(f"fetched {url}"))
    np.testing.assert_array_equal(load_dataset("mnist").x_test, data.x_test)


def test_real_checksums_are_well_formed() -> None:
    for name in ("mnist", "fashion-mnist"):
        source = sources.IDX_SOURCES[name]
        assert len(source.sha256) == 4
        for digest in source.sha256.values():
            assert len(digest) == 64 and int(digest, 16) >= 0
