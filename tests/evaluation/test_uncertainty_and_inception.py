"""Uncertainty maps have the image's shape; the Inception (FID) path works with a TorchScript file and fails clearly."""

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from vaelab.evaluation.inception import InceptionError, inception_features, load_inception
from vaelab.evaluation.uncertainty import predicted_std, save_panels
from vaelab.models import MODELS, HierarchyParams


def test_uncertainty_maps_have_the_image_shape_and_are_the_predicted_sigma(tmp_path):
    torch.manual_seed(0)
    model = MODELS["vae"](12, HierarchyParams(latent=(2,), hidden=(8,), observation="gaussian_pixel"))
    px = model(torch.rand(5, 12)).px
    maps = predicted_std(px, (3, 4))
    assert maps.shape == (5, 3, 4)
    assert np.allclose(maps.reshape(5, 12), px.variance.detach().sqrt().numpy())
    images = px.mean.detach().reshape(5, 3, 4).numpy()
    path = save_panels([("sample", images), ("sigma (predicted std)", maps)], tmp_path / "u.png", ncol=3)
    assert path.stat().st_size > 0


class FakeInception(nn.Module):
    """Same call as inception-2015-12-05.pt: uint8 (N, 3, H, W) -> (N, F) features."""

    def forward(self, x: Tensor, return_features: bool = False) -> Tensor:
        assert x.dtype == torch.uint8 and x.shape[1] == 3
        f = x.float().mean(dim=(2, 3))  # (N, 3)
        return torch.cat([f, f ** 2], dim=1) if return_features else f


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_inception_features_from_a_torchscript_file(tmp_path):
    torch.jit.script(FakeInception()).save(str(tmp_path / "inception.pt"))
    net = load_inception(tmp_path / "inception.pt")
    images = torch.full((4, 6, 6), 0.5)
    feats = inception_features(net, images, batch_size=3)
    assert feats.shape == (4, 6) and np.allclose(feats[:, 0], 128.0)  # 0.5 -> 128 on the 0..255 scale


def test_inception_errors_say_what_to_give(tmp_path):
    with pytest.raises(InceptionError, match="does not download"):
        load_inception(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    with pytest.raises(InceptionError, match="not a TorchScript file"):
        load_inception(tmp_path / "junk.pt")
