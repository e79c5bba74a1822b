"""data.name images: a folder of PNG/JPEG files read with Pillow, trained, evaluated and classified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from vaelab.cli import main
from vaelab.config import ConfigError, load_config
from vaelab.data import DataError, load_dataset
from vaelab.runs import classify_run, evaluate_run, train_run
from tiny_configs import LVAE_TINY, SEMI_TINY, write_config

CLASSES = ("eight", "one", "zero")  # folder names; sorted: eight -> 0, one -> 1, zero -> 2
DIGIT_OF = {"eight": 8, "one": 1, "zero": 0}


def _digit_images(digit: int, n: int) -> np.ndarray:
    """n 8x8 uint8 images of one digit from scikit-learn's digits."""
    digits = load_digits()
    return np.round(digits.images[digits.target == digit][:n] * 255 / 16).astype(np.uint8)


def _write_classes(folder: Path, n: int, mode: str = "L", suffix: str = ".png") -> Path:
    for name in CLASSES:
        (folder / name).mkdir(parents=True)
        for i, pixels in enumerate(_digit_images(DIGIT_OF[name], n)):
            image = Image.fromarray(pixels, "L")
            image.convert(mode).save(folder / name / f"{i:03d}{suffix}")
    return folder


def test_class_folders_give_sorted_labels_and_grey_pixels_over_255(tmp_path):
    root = _write_classes(tmp_path / "digits", 10)
    data = load_dataset("images", path=root)
    assert data.class_names == CLASSES and data.num_classes == 3 and data.image_shape == (8, 8)
    assert len(data.x_train) + len(data.x_test) == 30 and len(data.x_test) == 3
    everything = np.concatenate([data.x_train, data.x_test])
    labels = np.concatenate([data.y_train, data.y_test])
    expected = _digit_images(0, 10).reshape(10, 64).astype(np.float32) / 255  # "zero" is class 2
    np.testing.assert_allclose(np.sort(everything[labels == 2], axis=0), np.sort(expected, axis=0), rtol=1e-6)


def test_colour_keeps_three_channels_and_image_size_resizes(tmp_path):
    root = _write_classes(tmp_path / "colour", 4, mode="RGB", suffix=".jpg")
    data = load_dataset("images", path=root, image_size=(5, 6))
    assert data.image_shape == (3, 5, 6) and data.x_train.shape[1] == 90


def test_train_and_test_folders_are_the_splits(tmp_path):
    _write_classes(tmp_path / "split" / "train", 6)
    _write_classes(tmp_path / "split" / "test", 2)
    data = load_dataset("images", path=tmp_path / "split")
    assert (len(data.x_train), len(data.x_test)) == (18, 6)
    assert np.bincount(data.y_test).tolist() == [2, 2, 2]


def test_files_directly_in_the_folder_are_unlabelled(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    for i, pixels in enumerate(_digit_images(3, 20)):
        Image.fromarray(pixels, "L").save(root / f"{i}.png")
    (root / "notes.txt").write_text("not an image: skipped")
    data = load_dataset("images", path=root)
    assert data.num_classes == 0 and (data.y_train == -1).all() and len(data.x_train) == 18


def _digits_folder(tmp_path: Path) -> Path:
    root = tmp_path / "digits"
    digits = load_digits()
    for label in range(10):
        (root / f"d{label}").mkdir(parents=True)
        for i, pixels in enumerate(np.round(digits.images[digits.target == label][:40] * 255 / 16).astype(np.uint8)):
            Image.fromarray(pixels, "L").save(root / f"d{label}" / f"{i}.png")
    return root


def test_a_folder_trains_evaluates_and_classifies(tmp_path):
    root = _digits_folder(tmp_path)
    lvae = write_config(tmp_path, LVAE_TINY, data={"name": "images", "path": str(root)}, train={"epochs": 1})
    assert [r["epoch"] for r in train_run(lvae, tmp_path / "lvae")] == [1]
    assert np.isfinite(evaluate_run(tmp_path / "lvae", progress=False)["log_likelihood"])
    semi = write_config(tmp_path, SEMI_TINY, data={"name": "images", "path": str(root)}, train={"epochs": 1})
    train_run(semi, tmp_path / "adgm")
    assert evaluate_run(tmp_path / "adgm", progress=False)["n"] == 40
    np.save(tmp_path / "new.npy", load_digits().images[:5] / 16)
    out = classify_run(tmp_path / "adgm", tmp_path / "new.npy")
    assert out["class_names"] == [f"d{i}" for i in range(10)] and sum(out["counts"]) == 5


def _mixed_sizes(root: Path) -> Path:
    root.mkdir()
    Image.new("L", (8, 8)).save(root / "a.png")
    Image.new("L", (9, 8)).save(root / "b.png")
    return root


def _unreadable(root: Path) -> Path:
    _write_classes(root, 3)
    (root / "one" / "broken.png").write_bytes(b"\x89PNG but not really")
    return root


def _empty(root: Path) -> Path:
    root.mkdir()
    (root / "readme.txt").write_text("no images here")
    return root


def _empty_class(root: Path) -> Path:
    _write_classes(root, 3)
    (root / "zzz").mkdir()
    return root


def _files_and_folders(root: Path) -> Path:
    _write_classes(root, 3)
    Image.new("L", (8, 8)).save(root / "stray.png")
    return root


def _train_only(root: Path) -> Path:
    _write_classes(root / "train", 3)
    return root


BAD_FOLDERS = {  # case -> (build, the path the message names, what it says)
    "mixed sizes": (_mixed_sizes, "", "images differ in size .*data.image_size"),
    "unreadable image": (_unreadable, "one/broken.png", "cannot be read as an image"),
    "empty folder": (_empty, "", "holds no PNG or JPEG images"),
    "empty class folder": (_empty_class, "zzz", "class folder holds no PNG or JPEG"),
    "files beside class folders": (_files_and_folders, "", "both image files .* and class folders"),
    "train without test": (_train_only, "", "has a train/ folder but no test/"),
}


@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_bad_folders_give_one_line_naming_the_file(tmp_path, capsys, case):
    build, named, message = BAD_FOLDERS[case]
    root = build(tmp_path / "bad")
    where = root / named if named else root
    with pytest.raises(DataError, match=message):
        load_dataset("images", path=root)
    config = write_config(tmp_path, LVAE_TINY, data={"name": "images", "path": str(root), "validation": 1})
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: ") and err.count("\n") == 1 and f"{where}:" in err


def test_image_size_is_checked_and_only_for_own_data(tmp_path):
    with pytest.raises(ConfigError, match=r"\[H, W\]"):
        load_config(None, ["data.name=images", "data.path=x", "data.image_size=[8]"])
    with pytest.raises(ConfigError, match="remove them"):
        load_config(None, ["data.image_size=[8, 8]"])
    with pytest.raises(ConfigError, match="set data.path"):
        load_config(None, ["data.name=images"])
    config = load_config(None, ["data.name=images", "data.path=x", "data.image_size=[4, 6]"])
    assert config.data.image_size == (4, 6)
