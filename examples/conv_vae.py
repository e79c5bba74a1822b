"""A convolutional VAE on MNIST: vaelab's VAE with an own encoder and decoder, trained and evaluated in Python.

    python examples/conv_vae.py runs/conv-vae                  # MNIST, 10 epochs
    python examples/conv_vae.py runs/conv-vae --set train.epochs=50

The networks read and return flat rows, as every vaelab model does: the encoder begins with nn.Unflatten and
the decoder ends with nn.Flatten; the model puts its own heads on top (the Gaussian of q(z|x) and the Bernoulli
of p(x|z)), so model.observation, the variance floors and every objective stay as configured.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch import nn

from vaelab.config import Config, load_config
from vaelab.models import VAE
from vaelab.own_models import evaluate_model, train_model

SETTINGS = [  # the config: everything but the networks
    "data.name=mnist",
    "model.family=vae",
    "model.latent=[32]",
    "model.hidden=[256]",  # the MLP width; with one layer both MLP blocks are replaced, so it goes unused
    "model.batch_norm=false",
    "train.epochs=10",
    "train.batch_size=128",
    "eval.iw_samples=100",
]


def conv_encoder(height: int, width: int, channels: int = 32) -> nn.Module:
    """x (B, H*W) -> (B, 2 * channels * H/4 * W/4) features: two stride-2 convolutions."""
    return nn.Sequential(
        nn.Unflatten(1, (1, height, width)),
        nn.Conv2d(1, channels, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(channels, 2 * channels, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(),
    )


def conv_decoder(latent: int, height: int, width: int, channels: int = 32) -> nn.Module:
    """z (N, latent) -> (N, channels * H * W) features: a linear layer, then two stride-2 transposed convolutions."""
    h, w = height // 4, width // 4
    return nn.Sequential(
        nn.Linear(latent, 2 * channels * h * w), nn.ReLU(),
        nn.Unflatten(1, (2 * channels, h, w)),
        nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(channels, 4, 4, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(),  # the Bernoulli head of p(x|z) reads these 4 * H * W features
    )


def conv_vae(config: Config, height: int, width: int) -> VAE:
    """The VAE of config.model with the convolutional encoder and decoder."""
    params = config.model.params
    return VAE(height * width, params, encoder=conv_encoder(height, width),
               decoder=conv_decoder(params.latent[0], height, width))


def main(run_dir: str | Path, overrides: list[str] = (), image_shape: tuple[int, int] = (28, 28)) -> dict:
    """Train the convolutional VAE in run_dir, then evaluate L_K on the test set; returns eval.json's numbers."""
    config = load_config(None, [*SETTINGS, *overrides])
    train_model(conv_vae(config, *image_shape), config, run_dir)
    return evaluate_model(conv_vae(config, *image_shape), run_dir)  # built again, the weights loaded from run_dir


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="folder for checkpoints, metrics and eval.json")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a setting")
    args = parser.parse_args()
    result = main(args.run_dir, args.set)
    print(f"ELBO {result['elbo']:.2f}, L_{result['iw_samples']} {result['log_likelihood']:.2f} nats")
