"""FID features from an Inception-v3 file the user provides (vaelab never downloads it).

The file is the TorchScript translation of the TensorFlow Inception graph of Heusel et al.
(`inception-2015-12-05.pt`, as published with NVlabs' stylegan2-ada-pytorch metrics), called as
net(images, return_features=True) with uint8 images (N, 3, H, W) in 0..255; it resizes internally and
returns the 2048 pool features. Grey images are repeated over the three colour channels.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


class InceptionError(ValueError):
    """The Inception file is missing or is not a usable TorchScript feature extractor."""


def load_inception(path: str | Path) -> torch.jit.ScriptModule:
    """Load the TorchScript Inception network from `path` onto the CPU, in eval mode."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InceptionError(f"no Inception weights at {path}; give the path of inception-2015-12-05.pt "
                             "(TorchScript), which vaelab does not download")
    try:
        with warnings.catch_warnings():  # the published file is TorchScript, which torch now marks deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise InceptionError(f"{path} is not a TorchScript file ({type(err).__name__}); give "
                             "inception-2015-12-05.pt") from None
    return net.eval()


@torch.no_grad()
def inception_features(net: torch.jit.ScriptModule, images: Tensor, batch_size: int = 100) -> np.ndarray:
    """Pool features (N, F) of grey images (N, H, W) with values in [0, 1]."""
    out = []
    for xb in images.split(batch_size):
        rgb = (xb.clamp(0, 1) * 255).round().to(torch.uint8).unsqueeze(1).repeat(1, 3, 1, 1)  # (B, 3, H, W)
        out.append(net(rgb, return_features=True).double())
    return torch.cat(out).numpy()
