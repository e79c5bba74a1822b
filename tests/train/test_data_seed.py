"""data.seed draws the data (held-out split, labelled examples) apart from train.seed (initialisation, noise)."""

from __future__ import annotations

import json

import pytest

from tiny_configs import SEMI_TINY, write_config
from vaelab.config import ConfigError, load_config
from vaelab.runs import LABELLED_FILE, train_or_resume


def _draw(tmp_path, name: str, seed: int, data_seed: int | None) -> dict:
    folder = tmp_path / name
    folder.mkdir()
    config = write_config(folder, SEMI_TINY, train={"seed": seed, "epochs": 1},
                          data={"seed": data_seed})
    train_or_resume(config, folder / "run", [])
    return json.loads((folder / "run" / LABELLED_FILE).read_text())


def test_data_seed_fixes_the_draw_whatever_train_seed(tmp_path):
    default = _draw(tmp_path, "default", 3, None)
    same_draw = _draw(tmp_path, "other-init", 4, 3)
    other_draw = _draw(tmp_path, "other-draw", 3, 7)
    assert default["seed"] == 3 and same_draw["seed"] == 3 and other_draw["seed"] == 7
    assert same_draw["index_in_training_split"] == default["index_in_training_split"]
    assert other_draw["index_in_training_split"] != default["index_in_training_split"]
    assert sorted(other_draw["labels"]) == sorted(default["labels"])  # still balanced


def test_data_seed_must_be_an_integer(tmp_path):
    config = write_config(tmp_path, SEMI_TINY)
    with pytest.raises(ConfigError, match="data.seed"):
        load_config(config, ["data.seed=1.5"])
