"""Downloading an IDX data set from its canonical source, verified by SHA-256.

Each file is streamed to a temporary file beside its destination, hashed on the way, and moved into
place with os.replace only when the hash matches, so an interrupted or corrupt download never leaves
a file that a later search would pick up.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO, Callable

from vaelab.data.errors import DataError
from vaelab.data.locate import how_to_provide, search_places
from vaelab.data.sources import idx_source

DOWNLOAD_TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 20

# url -> a readable, closable response (what urllib.request.urlopen returns).
Opener = Callable[[str], BinaryIO]


def open_url(url: str) -> BinaryIO:
    """The default opener: urllib with a timeout. Tests replace it, so no test touches the network."""
    return urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S)


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _unreachable(name: str, url: str, error: Exception) -> DataError:
    """The error for a failed download: what failed, every place searched, how to provide files."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    places = ", ".join(str(place) for place in search_places(name))
    return DataError(
        f"{name}: no local copy found (searched {places}) and downloading {url} failed ({reason}); "
        f"{how_to_provide(name)}"
    )


def _stream(url: str, out: BinaryIO, opener: Opener, name: str) -> str:
    """Copy the body at `url` into `out`; return its SHA-256 hex digest."""
    digest = hashlib.sha256()
    try:
        with opener(url) as response:
            while chunk := response.read(CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        raise _unreachable(name, url, error) from None
    return digest.hexdigest()


def _fetch(url: str, target: Path, expected: str, opener: Opener, name: str) -> None:
    """Download `url` to `target` through a temporary file; keep it only if its SHA-256 matches."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _stream(url, out, opener, name)
        if actual != expected:
            raise DataError(
                f"{url}: SHA-256 {actual} differs from the expected {expected}; the download was "
                f"deleted: try again, or provide the files locally ({how_to_provide(name)})"
            )
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def download_dataset(name: str, dest: str | Path, opener: Opener | None = None) -> Path:
    """Download the four IDX files of `name` into `dest` (created if needed) and return `dest`.

    Files already in `dest` with the right SHA-256 are kept. `opener` defaults to `open_url`.
    Raises DataError on a network failure (listing the places searched) or a checksum mismatch.
    """
    source = idx_source(name)
    dest = Path(dest).expanduser()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"{dest}: cannot create the download directory ({error.strerror})") from None
    for file_name, expected in source.sha256.items():
        target = dest / file_name
        if target.is_file() and file_sha256(target) == expected:
            continue
        _fetch(source.base_url + file_name, target, expected, opener or open_url, name)
    return dest
