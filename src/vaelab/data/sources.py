"""Where the IDX data sets come from: file names, canonical URLs, checksums and expected sizes.

Checksums are SHA-256 of the canonical gzip files as served by the URLs below.
MNIST: t10k-images, t10k-labels and train-labels were hashed from local copies that are byte-identical
to the canonical files (their MD5s equal the published ones); train-images is the value published
for the canonical file (9,912,422 bytes) in many independent projects.
Fashion-MNIST: the canonical files were rebuilt byte for byte from Debian's dataset-fashion-mnist
(which only rewrote each gzip header) and checked against the MD5s in the upstream README
(8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd...); their SHA-256 also equal published values.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from vaelab.data.errors import DataError

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_STEMS = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


@dataclass(frozen=True)
class IdxSource:
    """An MNIST-format data set: four IDX files, where to download them and what they must hold."""

    base_url: str
    sha256: Mapping[str, str]  # gzip file name -> SHA-256 hex digest of the canonical file
    train_count: int
    test_count: int
    image_shape: tuple[int, int]
    num_classes: int
    install_hint: str  # extra way to get the files, for error messages ("" if none)


MNIST = IdxSource(
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    sha256=MappingProxyType({
        TRAIN_IMAGES + ".gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        TRAIN_LABELS + ".gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        TEST_IMAGES + ".gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        TEST_LABELS + ".gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }),
    train_count=60000,
    test_count=10000,
    image_shape=(28, 28),
    num_classes=10,
    install_hint="",
)

FASHION_MNIST = IdxSource(
    base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    sha256=MappingProxyType({
        TRAIN_IMAGES + ".gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        TRAIN_LABELS + ".gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        TEST_IMAGES + ".gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        TEST_LABELS + ".gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    }),
    train_count=60000,
    test_count=10000,
    image_shape=(28, 28),
    num_classes=10,
    install_hint="`apt-get install dataset-fashion-mnist`",
)

IDX_SOURCES: dict[str, IdxSource] = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}


def idx_source(name: str) -> IdxSource:
    """Return the IdxSource registered under `name`, or raise DataError naming the known ones."""
    source = IDX_SOURCES.get(name)
    if source is None:
        raise DataError(
            f"'{name}' is not a data set read from IDX files; choose one of: {', '.join(IDX_SOURCES)}"
        )
    return source
