"""What a config builds: the data splits (held-out sets fixed once) and the model, checked against this machine."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import torch
from torch import nn

from vaelab.config import Config, ConfigError, config_to_dict
from vaelab.data import (Splits, add_uniform_noise_fixed, binarize_fixed, dequantize_fixed, drop_inputs, grey_levels,
                         load_dataset, make_splits)
from vaelab.layers.decoder_variance import DECODER_VARIANCE_HEADS
from vaelab.models import MODELS

DEQUANTIZE_VAL_OFFSET, DEQUANTIZE_TEST_OFFSET = 11, 12
TRAIN_EVAL_SEED, TRAIN_BN_SEED, CLASSIFY_SEED = 12345, 12346, 12347  # fixed binarisations
TRAINING_BYTES_PER_PARAMETER = 16  # float32 weights, gradients and Adam's two moments


def data_seed(config: Config) -> int:
    """The seed of the data's draws: data.seed, or train.seed where it is not set."""
    return config.train.seed if config.data.seed is None else config.data.seed


def prepare_data(config: Config) -> Splits:
    """Load the configured data set and split it (validation held out; val/test binarised once)."""
    observation = getattr(config.model.params, "observation", None)
    if observation == "bernoulli" and not config.data.binarize:
        raise ConfigError("model.observation is bernoulli but data.binarize is false: set data.binarize: true "
                          "or use model.observation: gaussian for grey levels")
    if observation in DECODER_VARIANCE_HEADS and config.data.binarize:
        raise ConfigError(f"model.observation {observation} models real-valued data but data.binarize is true: "
                          "set data.binarize: false")
    dataset = load_dataset(config.data.name, root=config.data.root, download=config.data.download,
                           path=config.data.path, image_size=config.data.image_size,
                           test_fraction=config.data.test_fraction)
    seed = data_seed(config)
    splits = make_splits(dataset, config.data.validation, seed, config.data.binarize)
    if config.data.dequantize:  # held-out sets: noise drawn once, with fixed seeds
        levels = grey_levels(config.data.name)
        splits.val = dequantize_fixed(splits.val, levels, seed + DEQUANTIZE_VAL_OFFSET)
        splits.test = dequantize_fixed(splits.test, levels, seed + DEQUANTIZE_TEST_OFFSET)
    return drop_inputs(splits, config.data.drop_std)


def fixed_train(splits: Splits, config: Config, seed: int) -> torch.Tensor:
    """The training split as evaluation sees it: binarised or dequantised once with `seed`, else as stored."""
    if splits.binarize:
        return binarize_fixed(splits.train, seed=seed)
    if config.data.dequantize:
        return dequantize_fixed(splits.train, grey_levels(config.data.name), seed)
    if splits.noise_width is not None:
        return add_uniform_noise_fixed(splits.train, splits.noise_width, seed)
    return splits.train


def build_model(config: Config, input_dim: int) -> nn.Module:
    """The model named by config.model.family with its typed params; ConfigError for one too big to train here."""
    family, params = MODELS[config.model.family], config.model.params
    try:
        with torch.device("meta"):  # count the parameters without allocating them
            n = sum(p.numel() for p in family(input_dim, params).parameters())
    except (RuntimeError, NotImplementedError, TypeError):
        n = 0  # a model that cannot be built on the meta device is checked as it is built
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    if memory and n * TRAINING_BYTES_PER_PARAMETER > memory:
        raise ConfigError(f"the model would have {n:,} parameters, {n * TRAINING_BYTES_PER_PARAMETER / 2**30:.0f} GiB "
                          f"to train, more than this machine's {memory / 2**30:.0f} GiB; reduce model.hidden or model.latent")
    try:
        return family(input_dim, params)
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and "memory" not in str(err):
            raise
        raise ConfigError(f"the model does not fit in memory ({str(err).splitlines()[0][:100]}); reduce "
                          "model.hidden or model.latent") from None


def model_metadata(config: Config, input_dim: int, architecture: str | None = None) -> dict[str, Any]:
    """What a checkpoint records of its model, to refuse one from another model (architecture: see own_architecture)."""
    own = {} if architecture is None else {"architecture": architecture}
    return {"family": config.model.family, "params": config_to_dict(config)["model"], "input_dim": input_dim, **own}


def _layout(model: nn.Module) -> str:
    """A digest of the names and shapes of a model's parameters and buffers."""
    text = ";".join(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def own_architecture(model: nn.Module | None, config: Config, input_dim: int) -> str | None:
    """For a model object built in Python (own networks, docs/guides/own-networks.md): its class and a digest of its
    layout, which its checkpoints record; None when it has the layout config.model builds (or none was given)."""
    if model is None:
        return None
    name = f"{type(model).__name__} {_layout(model)}"
    try:
        with torch.device("meta"):  # shapes only: no memory, no draw from the random generator
            built = MODELS[config.model.family](input_dim, config.model.params)
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return name
    return None if type(built) is type(model) and _layout(built) == _layout(model) else name


def _check_fits(model: nn.Module, splits: Splits) -> None:
    """ConfigError unless a model object given from Python reads this data: one pass over two training examples."""
    x, dim = splits.train[:2], splits.train.shape[1]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            px = model(x).px
    except Exception as err:  # noqa: BLE001 - whatever the model's own code raises, the cause is the same
        raise ConfigError(f"the model given fails on this data's examples of {dim} inputs ({type(err).__name__}: "
                          f"{str(err).splitlines()[0][:160]}); build it with input_dim {dim}") from None
    finally:
        model.train(was_training)
    if tuple(px.event_shape) != (dim,):
        raise ConfigError(f"the model's p(x|.) has event shape {tuple(px.event_shape)} but the data have {dim} inputs "
                          f"per example; build it with input_dim {dim}")


def classify_inputs(splits: Splits, config: Config, split: str) -> torch.Tensor | None:
    """The grey levels behind a binarised split when eval.classify_inputs is grey (the ADGM authors' code classifies
    the grey-level images, adgmssl.py:305-311); None: the classifier reads the split's evaluation tensor."""
    if not (splits.binarize and config.eval.classify_inputs == "grey"):
        return None
    return {"train": splits.train, "val": splits.val_grey, "test": splits.test_grey}[split]
