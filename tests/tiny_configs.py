"""Tiny configs on scikit-learn's digits (no download) for tests that train through train_run or the CLI."""

from __future__ import annotations

from pathlib import Path

import yaml

LVAE_TINY = {
    "data": {"name": "digits", "validation": 50},
    "model": {"family": "lvae", "latent": [4, 2], "hidden": [16, 8]},
    "train": {"epochs": 2, "batch_size": 128, "threads": 1, "progress": False},
    "eval": {"iw_samples": 5},
}
SEMI_TINY = {
    "data": {"name": "digits", "binarize": True, "validation": 50, "labelled_per_class": 2},
    "model": {"family": "adgm", "classes": 10, "latent": 4, "auxiliary": 4, "hidden": [16, 16]},
    "train": {"epochs": 2, "batch_size": 200, "lr": 0.001, "progress": False, "seed": 3, "threads": 1},
    "eval": {"iw_samples": 3, "classify_samples": 2, "batch_size": 100},
}


def write_config(tmp_path: Path, base: dict, **sections: dict) -> Path:
    """tmp_path/config.yaml: base with the keys of `sections` replaced (a value of None removes the key)."""
    raw = {k: {key: val for key, val in {**v, **sections.get(k, {})}.items() if val is not None}
           for k, v in base.items()}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path
