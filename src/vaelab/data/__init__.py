"""Data sets, binarisation and splits. Imports nothing else from vaelab (numpy, torch, sklearn only)."""

from vaelab.data.binarize import binarize_dynamic, binarize_fixed
from vaelab.data.checks import check_real_valued
from vaelab.data.datasets import LOADERS, Dataset, load_dataset
from vaelab.data.dequantize import (add_uniform_noise, add_uniform_noise_fixed, dequantize_dynamic, dequantize_fixed,
                                   grey_levels)
from vaelab.data.download import download_dataset
from vaelab.data.errors import DataError
from vaelab.data.idx import read_idx, write_idx
from vaelab.data.labelled import LabelledSplit, balanced_labelled_subset, check_labels, split_labelled
from vaelab.data.moons import two_moons
from vaelab.data.norb import read_norb_mat, write_norb_mat
from vaelab.data.pixels import drop_inputs, informative_inputs, restore_inputs, select_inputs
from vaelab.data.svhn import read_svhn_mat
from vaelab.data.locate import find_dataset_dir
from vaelab.data.splits import Splits, make_splits, split_validation

__all__ = [
    "LabelledSplit",
    "balanced_labelled_subset",
    "check_labels",
    "split_labelled",
    "two_moons",
    "read_norb_mat",
    "write_norb_mat",
    "drop_inputs",
    "informative_inputs",
    "restore_inputs",
    "select_inputs",
    "read_svhn_mat",
    "LOADERS",
    "DataError",
    "Dataset",
    "Splits",
    "binarize_dynamic",
    "binarize_fixed",
    "check_real_valued",
    "download_dataset",
    "add_uniform_noise",
    "add_uniform_noise_fixed",
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
