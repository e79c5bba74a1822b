"""Finding a local copy of an IDX data set.

Search order: the directory given as `root` (the config's data.root), then $VAELAB_DATA/<name> and
$VAELAB_DATA, then ~/.cache/vaelab/<name> (where downloads go), then /usr/share/datasets/<name>
(where Debian's dataset-fashion-mnist installs). Local copies are not checksum-verified: a user's
copy may legitimately differ from the canonical bytes (recompressed, reordered); the loader checks
IDX headers and example counts instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from vaelab.data.errors import DataError
from vaelab.data.sources import IDX_STEMS, idx_source

ENV_VAR = "VAELAB_DATA"
SYSTEM_DATA_DIR = Path("/usr/share/datasets")  # a module constant so tests can point it elsewhere


def cache_dir(name: str) -> Path:
    """Where downloaded files of data set `name` are kept: ~/.cache/vaelab/<name>."""
    return Path.home() / ".cache" / "vaelab" / name


def search_places(name: str) -> list[Path]:
    """The directories searched, in order, when no root is given."""
    places: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        places += [Path(env).expanduser() / name, Path(env).expanduser()]
    return places + [cache_dir(name), SYSTEM_DATA_DIR / name]


def _find_file(directory: Path, stem: str) -> Path | None:
    """The gzip file `stem`.gz if present, else the raw file `stem`, else None."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def dataset_files(directory: str | Path) -> dict[str, Path]:
    """Map each IDX stem (e.g. "train-images-idx3-ubyte") to its file in `directory`, gz or raw.

    Raises DataError naming the directory and the missing files when any is absent.
    """
    directory = Path(directory)
    found = {stem: _find_file(directory, stem) for stem in IDX_STEMS}
    missing = [stem for stem, path in found.items() if path is None]
    if missing:
        raise DataError(
            f"{directory} lacks {', '.join(f'{stem}(.gz)' for stem in missing)}; "
            f"put the four IDX files there"
        )
    return {stem: path for stem, path in found.items() if path is not None}


def holds_dataset(directory: Path) -> bool:
    """True when `directory` holds all four IDX files (each gz or raw)."""
    return all(_find_file(directory, stem) is not None for stem in IDX_STEMS)


def find_dataset_dir(name: str, root: str | Path | None = None) -> Path | None:
    """Return the first directory holding the four IDX files of `name`, or None if there is none.

    A given `root` is the only place looked at: if it lacks the files, DataError (no fallback).
    """
    idx_source(name)  # DataError for names that have no IDX files
    if root is not None:
        root = Path(root).expanduser()
        try:
            dataset_files(root)
        except DataError as error:
            raise DataError(
                f"data.root for {name}: {error}, or unset data.root to search the default places"
            ) from None
        return root
    return next((place for place in search_places(name) if holds_dataset(place)), None)


def how_to_provide(name: str) -> str:
    """A sentence telling the user how to make the files of `name` available."""
    files = ", ".join(f"{stem}.gz" for stem in IDX_STEMS)
    hint = idx_source(name).install_hint
    extra = f", or run {hint}" if hint else ""
    return f"set data.root or {ENV_VAR} to a directory holding {files} (gz or raw){extra}"
