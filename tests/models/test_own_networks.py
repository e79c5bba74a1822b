"""Own encoders and decoders (models/networks.py) in the VAE, the Ladder VAE and the semi-supervised families,
trained by the loop and evaluated by the estimators of vaelab train and vaelab evaluate (own_models.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from vaelab.cli import main
from vaelab.config import ConfigError, load_config
from vaelab.evaluation.likelihood import log_likelihood
from vaelab.models import ADGM, M2, SDGM, LadderVAE, VAE
from vaelab.own_models import evaluate_model, load_model, train_model
from vaelab.runs import RunError
from vaelab.train import CheckpointError, read_metrics

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "conv_vae.py"
TINY = ["data.validation=50", "train.epochs=1", "train.batch_size=200", "train.threads=1", "train.progress=false",
        "eval.iw_samples=5"]


def encoder(channels: int = 3) -> nn.Module:
    """Digits x (B, 64) -> (B, channels * 16): one stride-2 convolution."""
    return nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU(),
                         nn.Flatten())


def decoder(latent: int, channels: int = 3) -> nn.Module:
    """(N, latent) -> (N, channels * 64): a linear layer and a transposed convolution."""
    return nn.Sequential(nn.Linear(latent, channels * 16), nn.ReLU(), nn.Unflatten(1, (channels, 4, 4)),
                         nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1), nn.Flatten())


def _config(family: str, *more: str):
    sizes = {"vae": ["model.latent=[4]", "model.hidden=[16]"], "lvae": ["model.latent=[4, 2]", "model.hidden=[16, 8]"],
             "adgm": ["model.classes=10", "model.latent=4", "model.auxiliary=4", "model.hidden=[16]",
                      "data.labelled_per_class=2"]}[family]
    return load_config(None, [f"model.family={family}", *sizes, *TINY, *more])


def test_conv_vae_trains_and_evaluates_l_k(tmp_path):
    config = _config("vae")
    model = VAE(64, config.model.params, encoder=encoder(), decoder=decoder(4))
    assert model.heads[0].mean.in_features == 48 and model.generative.observation.logits.in_features == 192
    before = model.encoders[0][1].weight.detach().clone()
    records = train_model(model, config, tmp_path / "run")
    assert [r["epoch"] for r in records] == [1] and np.isfinite(records[0]["val_elbo"])
    assert not torch.equal(before, model.encoders[0][1].weight)  # the convolution is trained
    result = evaluate_model(VAE(64, config.model.params, encoder=encoder(), decoder=decoder(4)), tmp_path / "run")
    assert result["iw_samples"] == 5 and result["log_likelihood"] >= result["elbo"] - 1.0
    loaded = load_model(VAE(64, config.model.params, encoder=encoder(), decoder=decoder(4)), tmp_path / "run")
    x = torch.from_numpy(load_digits().data[:20] / 16).float().bernoulli(generator=torch.Generator().manual_seed(0))
    ll = log_likelihood(loaded, x, k=5, progress=False)
    assert ll.shape == (20,) and torch.isfinite(ll).all()


def test_ladder_vae_with_own_networks_trains_and_resumes(tmp_path):
    config = _config("lvae")
    build = lambda: LadderVAE(64, config.model.params, encoder=encoder(), decoder=decoder(4))  # noqa: E731
    model = build()
    assert model.up[1].net[0].in_features == 48 and model.up_heads[0].mean.in_features == 48
    train_model(model, config, tmp_path / "run")
    records = train_model(build(), _config("lvae", "train.epochs=2"), tmp_path / "run", resume=True)
    assert [r["epoch"] for r in records] == [2]
    with pytest.raises(RunError, match="differs from .* in model.latent"):
        train_model(build(), _config("lvae", "model.latent=[3, 2]"), tmp_path / "run", resume=True)


@pytest.mark.parametrize("family", [ADGM, SDGM])
def test_auxiliary_families_with_own_networks_train_a_step(tmp_path, family):
    config = _config("adgm")
    model = family(64, config.model.params, encoder=encoder(), decoder=decoder(4 + 10 + (4 if family is SDGM else 0)))
    records = train_model(model, config, tmp_path / "run")
    assert "val_error" in records[0] and np.isfinite(records[0]["train_elbo"])
    result = evaluate_model(family(64, config.model.params, encoder=encoder(),
                                   decoder=decoder(4 + 10 + (4 if family is SDGM else 0))), tmp_path / "run")
    assert 0 <= result["error"] <= 1 and np.array(result["confusion_matrix"]).sum() == result["n"]


def test_m2_enumerates_labels_through_an_own_decoder():
    config = load_config(None, ["model.family=m2", "model.classes=3", "model.latent=4", "model.hidden=[8]"])
    model = M2(64, config.model.params, encoder=encoder(), decoder=decoder(4 + 3))
    x = torch.rand(5, 64).bernoulli()
    out = model(x, None, n_samples=2)  # C*S*B = 30 rows, class-major
    assert out.px.batch_shape == (30,) and out.label.y.tolist()[::10] == [0, 1, 2]
    # the broadcast parts reach the decoder joined as [y, z], row by row: decode(z, y) gives the same p(x|y,z)
    again = model.decode(out.latents[0].z, out.label.y)
    torch.testing.assert_close(again.mean, out.px.mean)
    assert model.classify(x).shape == (5, 3)


def test_the_initialisation_scheme_leaves_own_networks_as_made():
    torch.manual_seed(0)
    net = encoder()
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    params = _config("adgm", "model.init=authors").model.params
    ADGM(64, params, encoder=net)
    assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())


class Image4D(nn.Module):
    def forward(self, x):
        return x.view(-1, 1, 8, 8)


@pytest.mark.parametrize("network, role, message", [
    (Image4D(), "encoder", r"returns \(2, 1, 8, 8\).*end it with nn.Flatten\(\)"),
    (nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten()), "encoder", r"fails on a \(2, 64\) input.*nn.Unflatten"),
    (nn.Linear(5, 7), "decoder", r"the decoder fails on a \(2, 4\) input"),
])
def test_shape_mismatches_give_a_clear_error(network, role, message):
    params = _config("vae").model.params
    with pytest.raises(ValueError, match=message):
        VAE(64, params, **{role: network})


def test_a_model_for_other_data_is_refused(tmp_path):
    config = _config("vae")
    with pytest.raises(ConfigError, match="build it with input_dim 64"):
        train_model(VAE(784, config.model.params, decoder=decoder(4)), config, tmp_path / "run")


def test_a_run_with_own_networks_is_not_rebuilt_from_its_config(tmp_path, capsys):
    config = _config("vae")
    train_model(VAE(64, config.model.params, encoder=encoder(), decoder=decoder(4)), config, tmp_path / "run")
    assert main(["evaluate", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "own networks" in err and "evaluate_model" in err and err.count("\n") == 1
    with pytest.raises(CheckpointError, match="not the model given"):
        evaluate_model(VAE(64, config.model.params, encoder=encoder(5), decoder=decoder(4)), tmp_path / "run")


def test_a_plain_model_object_trains_a_run_the_command_line_can_evaluate(tmp_path):
    config = _config("vae")
    torch.manual_seed(0)
    train_model(VAE(64, config.model.params), config, tmp_path / "run")
    assert main(["evaluate", str(tmp_path / "run"), "--iw-samples", "2"]) == 0
    assert len(read_metrics(tmp_path / "run" / "metrics.jsonl")) == 1


def test_the_guide_example_runs_as_written(tmp_path):
    """examples/conv_vae.py (shown in docs/guides/own-networks.md) on tiny 28x28 data written as an .npz file."""
    spec = importlib.util.spec_from_file_location("conv_vae", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    digits = load_digits().images[:150]
    images = np.kron(digits, np.ones((4, 4)))[:, 2:30, 2:30] / 16  # 8x8 -> 32x32, cropped to 28x28
    np.savez(tmp_path / "tiny.npz", x=images.astype(np.float32))
    result = example.main(tmp_path / "run", ["data.name=npz", f"data.path={tmp_path / 'tiny.npz'}",
                                              "data.validation=15", "train.epochs=1", "train.threads=1",
                                              "train.progress=false", "eval.iw_samples=3"])
    assert result["n"] == 15 and np.isfinite(result["log_likelihood"])
