"""Reader and writer for the IDX format of MNIST and Fashion-MNIST.

An IDX file is: two zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, then
each dimension as a big-endian uint32, then the items in C order, big-endian.
See http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS FOR THE MNIST DATABASE").
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from vaelab.data.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> element type as stored (big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_payload(path: Path) -> bytes:
    """Return the file's bytes, decompressed when it starts with the gzip magic (not by name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file; check the path or provide the data set files") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror}); check its permissions") from None
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"{path}: corrupt gzip data ({error}); delete the file and download or copy it again"
        ) from None


def _parse_header(data: bytes, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """Validate the IDX header; return (stored dtype, dims, header length in bytes)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: not an IDX file (starts with {data[:4].hex() or 'nothing'}, expected 0000 then "
            f"type and rank); check that it is the right file and not an error page"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        raise DataError(f"{path}: unknown IDX type code 0x{code:02x}; the file is damaged or not IDX")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions; the file is damaged")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"{path}: truncated IDX header ({len(data)} bytes, expected {header_len}); "
            f"download or copy the file again"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    return IDX_DTYPES[code], dims, header_len


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw, into an array of shape `dims` (native byte order).

    Raises DataError (naming the file) on a bad magic number, an unknown type code, a corrupt gzip
    stream, or a payload whose size is not exactly prod(dims) items.
    """
    path = Path(path)
    data = _read_payload(path)
    dtype, dims, header_len = _parse_header(data, path)
    expected = math.prod(dims) * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        problem = "truncated" if found < expected else "has extra bytes"
        raise DataError(
            f"{path}: file {problem}: header {'x'.join(map(str, dims))} {dtype.name} needs "
            f"{expected} data bytes, found {found}; download or copy the file again"
        )
    items = np.frombuffer(data, dtype=dtype, count=math.prod(dims), offset=header_len)
    # astype copies: the result is writable and in native byte order.
    return items.reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write `array` as an IDX file, gzip-compressed when `path` ends with ".gz".

    Meant for uint8 images and labels (as in MNIST); the other IDX element types also work.
    """
    array = np.asarray(array)
    stored = array.dtype.newbyteorder(">")
    code = next((c for c, dtype in IDX_DTYPES.items() if dtype == stored), None)
    if code is None:
        raise DataError(f"{path}: IDX cannot store dtype {array.dtype}; convert the array to uint8")
    if array.ndim == 0 or array.ndim > 255 or max(array.shape) >= 2**32:
        raise DataError(f"{path}: IDX cannot store an array of shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(stored).tobytes()
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    Path(path).write_bytes(payload)
