"""Finding a folder that holds a data set's named files (SVHN, NORB): data.root, then the default places."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from vaelab.data.errors import DataError
from vaelab.data.locate import ENV_VAR, search_places

GZIP_MAGIC = b"\x1f\x8b"


def _present(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_files(dataset: str, root: str | Path | None, names: list[str], source: str) -> dict[str, Path]:
    """Map each file name to its path (plain or .gz) in data.root, else in the first default place holding all.

    source: where a user gets the files, for the error message.
    """
    places = [Path(root).expanduser()] if root is not None else search_places(dataset)
    for folder in places:
        found = {n: _present(folder, n) for n in names}
        if all(found.values()):
            return found  # type: ignore[return-value]
        if root is not None:
            missing = [n for n, p in found.items() if p is None]
            raise DataError(f"data.root {folder} lacks {', '.join(missing)} (or .gz) for {dataset}; "
                            f"download them from {source}")
    raise DataError(f"{dataset}: no folder holds {', '.join(names)} (searched {', '.join(map(str, places))}); "
                    f"download them from {source} and set data.root or {ENV_VAR}")


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when it starts with the gzip magic."""
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip data ({error}); download the file again") from None
