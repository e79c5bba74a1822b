"""Data sets, binarisation and splits. Imports nothing else from vaelab (numpy, torch, sklearn only)."""

from vaelab.data.binarize import binarize_dynamic, binarize_fixed
from vaelab.data.checks import check_real_valued
from vaelab.data.datasets import LOADERS, Dataset, load_dataset
from vaelab.data.dequantize import dequantize_dynamic, dequantize_fixed, grey_levels
from vaelab.data.download import download_dataset
from vaelab.data.errors import DataError
from vaelab.data.idx import read_idx, write_idx
from vaelab.data.locate import find_dataset_dir
from vaelab.data.splits import Splits, make_splits, split_validation

__all__ = [
    "LOADERS",
    "DataError",
    "Dataset",
    "Splits",
    "binarize_dynamic",
    "binarize_fixed",
    "check_real_valued",
    "download_dataset",
    "dequantize_dynamic",
    "dequantize_fixed",
    "grey_levels",
    "find_dataset_dir",
    "load_dataset",
    "make_splits",
    "read_idx",
    "split_validation",
    "write_idx",
]
