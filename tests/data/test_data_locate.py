"""Where local copies are searched for, and in which order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vaelab.data import DataError, find_dataset_dir, load_dataset
from vaelab.data.sources import TEST_LABELS

from .helpers import Places, write_tiny_set


def test_search_order(places: Places, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tiny_set(places.tmp / "root")
    env_named = write_tiny_set(places.env / "mnist")
    env_flat = write_tiny_set(places.env)
    cache = write_tiny_set(places.home / ".cache" / "vaelab" / "mnist")
    system = write_tiny_set(places.system / "mnist", gz=False)
    monkeypatch.setenv("VAELAB_DATA", str(places.env))

    assert find_dataset_dir("mnist", root) == root
    assert find_dataset_dir("mnist", str(root)) == root
    expected_in_turn = [env_named, env_flat, cache, system]
    for index, expected in enumerate(expected_in_turn):
        assert find_dataset_dir("mnist") == expected
        for stem_dir in expected_in_turn[: index + 1]:
            for file in stem_dir.glob("*-ubyte*"):
                file.unlink()
    assert find_dataset_dir("mnist") is None


def test_cache_and_system_without_env(places: Places) -> None:
    system = write_tiny_set(places.system / "fashion-mnist", gz=False)
    assert find_dataset_dir("fashion-mnist") == system
    cache = write_tiny_set(places.home / ".cache" / "vaelab" / "fashion-mnist")
    assert find_dataset_dir("fashion-mnist") == cache


def test_incomplete_directory_does_not_count(places: Places) -> None:
    cache = write_tiny_set(places.home / ".cache" / "vaelab" / "mnist")
    (cache / f"{TEST_LABELS}.gz").unlink()
    assert find_dataset_dir("mnist") is None


def test_mixed_gz_and_raw_counts(places: Places) -> None:
    cache = write_tiny_set(places.home / ".cache" / "vaelab" / "mnist")
    write_tiny_set(places.tmp / "raw", gz=False)
    (cache / f"{TEST_LABELS}.gz").unlink()
    shutil.copy(places.tmp / "raw" / TEST_LABELS, cache / TEST_LABELS)
    assert find_dataset_dir("mnist") == cache


def test_root_without_files_is_an_error_not_a_fallback(places: Places) -> None:
    write_tiny_set(places.home / ".cache" / "vaelab" / "mnist")
    empty = places.tmp / "empty-root"
    empty.mkdir()
    pattern = r"data.root for mnist: .*empty-root lacks .*train-images-idx3-ubyte"
    with pytest.raises(DataError, match=pattern):
        find_dataset_dir("mnist", empty)
    with pytest.raises(DataError, match="empty-root"):
        load_dataset("mnist", root=empty)


def test_names_without_files(places: Places) -> None:
    with pytest.raises(DataError, match="digits"):
        find_dataset_dir("digits")
    with pytest.raises(DataError, match="mnist, fashion-mnist"):
        find_dataset_dir("cifar10")


def test_missing_everywhere_without_download_lists_places(places: Places,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAELAB_DATA", str(places.env))
    with pytest.raises(DataError) as caught:
        load_dataset("fashion-mnist", download=False)
    message = str(caught.value)
    assert "\n" not in message
    for place in [places.env / "fashion-mnist", places.env,
                  places.home / ".cache" / "vaelab" / "fashion-mnist", places.system / "fashion-mnist"]:
        assert str(place) in message
    assert "data.root" in message and "VAELAB_DATA" in message
    assert "apt-get install dataset-fashion-mnist" in message
