"""IDX reading and writing: round trips and every way a file can be broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from vaelab.data import DataError, read_idx, write_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip_uint8(tmp_path: Path, name: str) -> None:
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / name, images)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == (5, 28, 28)
    np.testing.assert_array_equal(back, images)
    assert back.flags.writeable


def test_gz_file_starts_with_gzip_magic_and_raw_does_not(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", labels)
    write_idx(tmp_path / "a", labels)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a").read_bytes()[:4] == b"\x00\x00\x08\x01"


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_other_types(tmp_path: Path, dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "x.gz", array)
    back = read_idx(tmp_path / "x.gz")
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)


def test_compression_detected_by_magic_not_name(tmp_path: Path) -> None:
    labels = np.arange(7, dtype=np.uint8)
    write_idx(tmp_path / "packed.gz", labels)
    (tmp_path / "packed.gz").rename(tmp_path / "packed-no-suffix")
    write_idx(tmp_path / "plain", labels)
    (tmp_path / "plain").rename(tmp_path / "plain.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "packed-no-suffix"), labels)
    np.testing.assert_array_equal(read_idx(tmp_path / "plain.gz"), labels)


def _raw(tmp_path: Path, array: np.ndarray) -> bytes:
    write_idx(tmp_path / "source", array)
    return (tmp_path / "source").read_bytes()


def test_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad-magic"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="bad-magic.*not an IDX file"):
        read_idx(path)


def test_unknown_type_code(tmp_path: Path) -> None:
    data = bytearray(_raw(tmp_path, np.zeros(3, dtype=np.uint8)))
    data[2] = 0x07
    (tmp_path / "bad-code").write_bytes(bytes(data))
    with pytest.raises(DataError, match="bad-code.*type code 0x07"):
        read_idx(tmp_path / "bad-code")


def test_truncated_header(tmp_path: Path) -> None:
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="short.*truncated IDX header"):
        read_idx(tmp_path / "short")


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_file(tmp_path: Path, compress: bool) -> None:
    data = _raw(tmp_path, np.zeros((4, 28, 28), dtype=np.uint8))[:-10]
    path = tmp_path / "cut-images"
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(DataError, match=r"cut-images.*truncated.*needs 3136 data bytes, found 3126"):
        read_idx(path)


def test_extra_bytes(tmp_path: Path) -> None:
    data = _raw(tmp_path, np.zeros(5, dtype=np.uint8)) + b"\x00\x00"
    (tmp_path / "long-labels").write_bytes(data)
    with pytest.raises(DataError, match=r"long-labels.*extra bytes.*needs 5 data bytes, found 7"):
        read_idx(tmp_path / "long-labels")


def test_corrupt_gzip(tmp_path: Path) -> None:
    write_idx(tmp_path / "good.gz", np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8))
    data = bytearray((tmp_path / "good.gz").read_bytes())
    data[len(data) // 2: len(data) // 2 + 16] = bytes(16)
    (tmp_path / "broken.gz").write_bytes(bytes(data))
    with pytest.raises(DataError, match="broken.gz.*corrupt gzip"):
        read_idx(tmp_path / "broken.gz")


def test_cut_gzip_stream(tmp_path: Path) -> None:
    write_idx(tmp_path / "good.gz", np.zeros(5000, dtype=np.uint8))
    (tmp_path / "half.gz").write_bytes((tmp_path / "good.gz").read_bytes()[:20])
    with pytest.raises(DataError, match="half.gz.*corrupt gzip"):
        read_idx(tmp_path / "half.gz")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere.*no such file"):
        read_idx(tmp_path / "nowhere")


def test_write_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
