"""The presets inside the package: found by name from any folder, listed by vaelab presets."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaelab.cli import main
from vaelab.config import ConfigError, load_config
from vaelab.presets import FOLDER, list_presets, preset_path

ROOT = Path(__file__).resolve().parents[1]


def test_configs_is_the_presets_folder():
    assert (ROOT / "configs").is_symlink()
    assert (ROOT / "configs").resolve() == (ROOT / "src" / "vaelab" / "presets").resolve() == FOLDER
    assert (ROOT / "configs" / "lvae" / "mnist-5layer.yaml").is_file()


def test_every_yaml_file_is_a_listed_preset_with_a_description():
    files = sorted(p.relative_to(FOLDER).with_suffix("").as_posix() for p in FOLDER.rglob("*.yaml"))
    presets = list_presets()
    assert [p.name for p in presets] == files and "demo" in files and "lvae/mnist-5layer" in files
    assert all(p.description and not p.description.startswith("#") for p in presets)
    demo = next(p for p in presets if p.name == "demo")
    assert demo.description.startswith("The demo: a 3-layer Ladder VAE")


def test_a_preset_name_works_from_any_folder(tmp_path, monkeypatch):
    want = load_config(ROOT / "configs" / "lvae" / "mnist-5layer.yaml", ["train.epochs=3"])
    monkeypatch.chdir(tmp_path)
    for name in ("lvae/mnist-5layer", "lvae/mnist-5layer.yaml", "configs/lvae/mnist-5layer.yaml"):
        assert load_config(name, ["train.epochs=3"]) == want
    assert load_config("demo").model.family == "lvae"


def test_a_real_file_wins_over_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("demo").write_text("model:\n  family: vae\n")
    assert load_config("demo").model.family == "vae"
    assert load_config("demo.yaml").model.family == "lvae"  # no such file here: the preset


def test_an_unknown_name_lists_close_matches(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="close matches: lvae/mnist-5layer") as err:
        load_config("lvae/mnist-5layr")
    assert "\n" not in str(err.value)
    assert main(["train", "adgm/mnist-100-adgn", "--run-dir", "run"]) == 2
    out = capsys.readouterr().err
    assert out.startswith("vaelab: error: config file adgm/mnist-100-adgn not found") and "adgm/mnist-100-adgm" in out
    assert out.count("\n") == 1 and not Path("run").exists()


@pytest.mark.parametrize("name", ["../pyproject", "/etc/passwd", ""])
def test_names_outside_the_folder_are_not_presets(name):
    with pytest.raises(LookupError):
        preset_path(name)


def test_vaelab_presets_prints_every_name_and_description(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(list_presets())
    demo = next(line for line in lines if line.startswith("demo "))
    assert "The demo: a 3-layer Ladder VAE" in demo
