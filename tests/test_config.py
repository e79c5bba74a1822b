"""Config errors are one line that names the key and says what to do."""

import pytest

from vaelab.config import ConfigError, config_from_dict, dump_config, load_config


def test_round_trip(tmp_path):
    cfg = load_config("configs/demo.yaml", ["train.epochs=3"])
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg and cfg.train.epochs == 3


@pytest.mark.parametrize("raw, message", [
    ({"train": {"epoch": 3}}, "unknown key 'train.epoch'"),
    ({"trian": {}}, "unknown section 'trian'"),
    ({"train": {"epochs": "ten"}}, "train.epochs: 'ten' is not of type int"),
    ({"train": {"epochs": True}}, "train.epochs"),
    ({"train": {"epochs": -1}}, "train.epochs = -1 is impossible"),
    ({"train": {"lr": 0}}, "train.lr"),
    ({"model": {"latent": [4, 2], "hidden": [8]}}, "one hidden size per stochastic layer"),
    ({"model": {"latent": "big"}}, "model.latent"),
    ({"model": {"family": "gan"}}, "unknown family 'gan'"),
    ({"model": {"nonsense": 1}}, "unknown key 'model.nonsense'"),
    ({"data": {"validation": -5}}, "data.validation"),
    ({"eval": {"iw_samples": 0}}, "eval.iw_samples"),
])
def test_bad_configs(raw, message):
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_overrides_and_files(tmp_path):
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(None, ["epochs=3"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    cfg = load_config(None, ["model.latent=[6, 3]", "model.hidden=[20, 10]", "train.lr=3e-4"])
    assert cfg.model.params.latent == (6, 3) and cfg.train.lr == 3e-4


def test_every_preset_loads():
    from pathlib import Path

    for path in Path("configs").rglob("*.yaml"):
        load_config(path)
