"""Exported (pretrained) models: a folder of config.json and model.safetensors, rebuilt without unpickling anything.

`vaelab export RUN OUT` (export_run) loads the run's best or last checkpoint as evaluation does (runs.load_run:
batch-norm statistics recomputed over the training data, eval mode) and writes
- OUT/model.safetensors: the model's state dict, every parameter and buffer (batch-norm running statistics
  included), through the safetensors package;
- OUT/config.json: the run's config as JSON with the format and its version, the family, the vaelab version,
  the input width, what the data looked like (image shape, inputs kept, classes), where the weights came from,
  and the SHA-256 digest of model.safetensors.
load_pretrained(OUT) reads JSON and safetensors only (no pickle, so no code runs on loading), checks the
digest (a damaged file is refused with a one-line error naming it), rebuilds the model from the config and
returns it in eval mode: it gives the same numbers as the run's checkpoint (docs/guides/export.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from vaelab import __version__
from vaelab.config import Config, config_from_dict, config_to_dict
from vaelab.evaluation import has_batchnorm
from vaelab.files import atomic_write, file_digest, verify_file, write_text_atomic
from vaelab.runs import TRAIN_BN_SEED, build_model, load_run

FORMAT, FORMAT_VERSION = "vaelab-pretrained", 1
CONFIG_JSON, WEIGHTS = "config.json", "model.safetensors"
CHECKPOINTS = ("best", "last")


class ExportError(ValueError):
    """An export that cannot be written or a folder that is not a readable export."""


def export_run(run_dir: str | Path, out: str | Path, checkpoint: str = "best", force: bool = False,
               fallback: bool = False) -> Path:
    """`vaelab export`: write the run's model (best or last checkpoint) to out/config.json and out/model.safetensors.

    force: write into an existing non-empty folder, replacing config.json and model.safetensors there (other
    files are left alone); without it such a folder is an error. fallback: see runs.load_run. Returns out.
    """
    run_dir, out = Path(run_dir), Path(out)
    if checkpoint not in CHECKPOINTS:
        raise ExportError(f"--checkpoint must be best or last, got {checkpoint!r}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; give a folder to export into")
    if out.is_dir() and run_dir.is_dir() and out.resolve() == run_dir.resolve():
        raise ExportError(f"export into a folder of its own, not into the run folder {run_dir}")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} exists and is not empty; choose another folder or add --force to replace "
                          f"{CONFIG_JSON} and {WEIGHTS} there")
    config, model, splits, state = load_run(run_dir, checkpoint, fallback=fallback)
    tensors = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / WEIGHTS, lambda f: f.write(save(tensors, metadata={"format": FORMAT})))
    mask = splits.input_mask
    info = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "vaelab_version": __version__,
        "family": config.model.family, "input_dim": int(splits.train.shape[1]),
        "weights": {"file": WEIGHTS, "sha256": file_digest(out / WEIGHTS), "tensors": len(tensors)},
        "source": {"checkpoint": checkpoint, "epoch": state["epoch"], "checkpoint_sha256": state.get("sha256")},
        "batchnorm": (f"running statistics recomputed over the training data (binarised once, seed {TRAIN_BN_SEED})"
                      if has_batchnorm(model) else None),
        "data": {"name": config.data.name, "image_shape": list(splits.image_shape), "binarize": splits.binarize,
                 "num_classes": splits.num_classes,
                 # which of the prod(image_shape) inputs the model reads (data.drop_std); None: all of them
                 "inputs_kept": None if mask is None else torch.nonzero(mask).flatten().tolist()},
        "config": config_to_dict(config),
    }
    write_text_atomic(out / CONFIG_JSON, json.dumps(info, indent=2))  # last: a half-written export has none
    return out


def read_export(path: str | Path) -> tuple[Config, dict[str, Any]]:
    """(the config, the whole of config.json) of an exported folder; ExportError for anything else."""
    path = Path(path)
    file = path / CONFIG_JSON
    if not file.is_file():
        raise ExportError(f"{path} is not an exported model (no {CONFIG_JSON}); write one with vaelab export RUN {path}")
    try:
        info = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportError(f"{file} is damaged: it is not valid JSON ({err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ExportError(f"{file} is not the config of an exported vaelab model (format {FORMAT})")
    if info.get("format_version") != FORMAT_VERSION:
        raise ExportError(f"{file} has format version {info.get('format_version')!r}; this vaelab ({__version__}) "
                          f"reads version {FORMAT_VERSION}: install the vaelab that wrote it ({info.get('vaelab_version')})")
    try:
        config = config_from_dict(info["config"])
        digest, input_dim = str(info["weights"]["sha256"]), int(info["input_dim"])
    except (KeyError, TypeError, ValueError) as err:
        raise ExportError(f"{file} is damaged or incomplete ({type(err).__name__}: {err})") from None
    if config.model.family != info.get("family"):
        raise ExportError(f"{file} is inconsistent: family {info.get('family')!r}, config {config.model.family!r}")
    return config, {**info, "input_dim": input_dim, "weights": {**info["weights"], "sha256": digest}}


def load_pretrained(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The model of an exported folder (export_run), in eval mode, on `device`.

    Reads config.json and model.safetensors only, never a pickle. The weights file's SHA-256 digest must be the
    one config.json records: a damaged file raises files.DamagedFileError, one line naming it. The global
    random state is left as it was (building the model draws initial weights, which the file then replaces).
    """
    path = Path(path)
    config, info = read_export(path)
    weights = path / info["weights"].get("file", WEIGHTS)
    verify_file(weights, info["weights"]["sha256"])
    try:
        tensors = load_file(weights)  # on the CPU; the model moves below
    except (SafetensorError, OSError) as err:
        raise ExportError(f"{weights} cannot be read as safetensors ({err})") from None
    with torch.random.fork_rng(devices=[]):
        model = build_model(config, info["input_dim"])
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as err:
        raise ExportError(f"{weights} does not fit a {config.model.family} model of its config.json "
                          f"({str(err).splitlines()[0][:120]})") from None
    return model.to(device).eval()


__all__ = ["ExportError", "export_run", "load_pretrained", "read_export", "CONFIG_JSON", "WEIGHTS"]
