"""Dropping uninformative inputs: the MNIST option of ADGM section 3 (pixels with std < 0.1 -> 444 inputs)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from vaelab.data.errors import DataError
from vaelab.data.splits import Splits


def informative_inputs(x_train: torch.Tensor, min_std: float) -> torch.Tensor:
    """(D,) bool: inputs whose standard deviation over the training examples is at least min_std."""
    return x_train.std(dim=0, unbiased=False) >= min_std


def drop_inputs(splits: Splits, min_std: float) -> Splits:
    """Keep only the inputs whose training-set std is >= min_std, in every split; record the mask.

    The mask is computed on the training split's grey levels (before any binarisation), so the same config
    always keeps the same inputs. min_std = 0 keeps every input.
    """
    if min_std <= 0:
        return splits
    mask = informative_inputs(splits.train, min_std)
    if not bool(mask.any()):
        raise DataError(f"no input has a standard deviation >= {min_std}; lower data.drop_std")
    width = None if splits.noise_width is None else splits.noise_width[mask]
    grey = {k: None if getattr(splits, k) is None else getattr(splits, k)[:, mask] for k in ("val_grey", "test_grey")}
    return dataclasses.replace(splits, train=splits.train[:, mask], val=splits.val[:, mask],
                               test=splits.test[:, mask], input_mask=mask, noise_width=width, **grey)


def restore_inputs(x: torch.Tensor, mask: torch.Tensor | None, fill: float = 0.0) -> torch.Tensor:
    """(N, kept) -> (N, D): put kept inputs back in place, `fill` elsewhere (for drawing images)."""
    if mask is None:
        return x
    full = x.new_full((x.shape[0], mask.shape[0]), fill)
    full[:, mask] = x
    return full


def select_inputs(x: np.ndarray | torch.Tensor, mask: torch.Tensor | None, width: int, what: str) -> torch.Tensor:
    """A user's (N, D) or (N, *image_shape) array as the model's (N, kept) inputs; DataError on a wrong shape."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if x.dim() < 2 or int(np.prod(x.shape[1:])) != width:
        raise DataError(f"{what}: expected an array of shape (N, {width}) (or N images of {width} values), "
                        f"got {tuple(x.shape)}")
    x = x.reshape(x.shape[0], width)
    return x if mask is None else x[:, mask]
