"""data.name npz: one's own examples in an .npz file, trained, evaluated and classified like a built-in set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from vaelab.cli import main
from vaelab.config import ConfigError, load_config
from vaelab.data import DataError, load_dataset
from vaelab.data.own import OWN_TEST_SEED
from vaelab.runs import classify_run, evaluate_run, train_run
from tiny_configs import LVAE_TINY, SEMI_TINY, write_config


def _digits(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """n of scikit-learn's digits as uint8 8x8 images 0..255 and their labels."""
    digits = load_digits()
    return np.round(digits.images[:n] * 255 / 16).astype(np.uint8), digits.target[:n]


def _npz(tmp_path: Path, name: str = "own.npz", **arrays: np.ndarray) -> Path:
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_uint8_is_divided_by_255_and_the_test_split_is_carved_by_a_fixed_seed(tmp_path):
    x, y = _digits(200)
    path = _npz(tmp_path, x=x, y=y, class_names=np.array([f"digit {i}" for i in range(10)]))
    data = load_dataset("npz", path=path)
    assert data.name == str(path) and data.image_shape == (8, 8) and data.num_classes == 10
    assert data.class_names == tuple(f"digit {i}" for i in range(10))
    assert data.x_train.shape == (180, 64) and data.x_test.shape == (20, 64) and data.x_train.dtype == np.float32
    test_rows = np.sort(np.random.default_rng(OWN_TEST_SEED).permutation(200)[:20])
    np.testing.assert_allclose(data.x_test, x[test_rows].reshape(20, 64) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, y[test_rows])
    again = load_dataset("npz", path=path, test_fraction=0.25)
    assert again.x_test.shape == (50, 64)


def test_a_test_split_in_the_file_is_used_as_it_is(tmp_path):
    x, y = _digits(100)
    floats = x.astype(np.float32) / 255
    data = load_dataset("npz", path=_npz(tmp_path, x=floats[:70], y=y[:70], x_test=floats[70:], y_test=y[70:]))
    np.testing.assert_array_equal(data.x_test, floats[70:].reshape(30, 64))
    np.testing.assert_array_equal(data.y_train, y[:70])


def test_unlabelled_data_train_one_epoch_and_evaluate(tmp_path):
    x, _ = _digits()
    path = _npz(tmp_path, x=x)
    config = write_config(tmp_path, LVAE_TINY, data={"name": "npz", "path": str(path)}, train={"epochs": 1})
    records = train_run(config, tmp_path / "run")
    assert [r["epoch"] for r in records] == [1]
    result = evaluate_run(tmp_path / "run", progress=False)
    assert result["n"] == 60 and np.isfinite(result["log_likelihood"])
    assert result["log_likelihood"] >= result["elbo"] - 1.0  # L_5 is at least the ELBO up to its noise
    assert load_config(tmp_path / "run" / "config.yaml").data.path == str(path)


def test_labelled_data_train_a_semi_supervised_family_evaluate_and_classify(tmp_path):
    x, y = _digits()
    path = _npz(tmp_path, x=x, y=y)
    config = write_config(tmp_path, SEMI_TINY, data={"name": "npz", "path": str(path)}, train={"epochs": 1})
    train_run(config, tmp_path / "run")
    result = evaluate_run(tmp_path / "run", progress=False)
    assert np.array(result["confusion_matrix"]).sum() == result["n"] == 60
    np.save(tmp_path / "new.npy", x[:9].astype(np.float32) / 255)
    out = classify_run(tmp_path / "run", tmp_path / "new.npy")
    assert np.load(out["labels"]).shape == (9,) and sum(out["counts"]) == 9


def test_semi_supervised_family_on_unlabelled_data_is_refused(tmp_path):
    config = write_config(tmp_path, SEMI_TINY, data={"name": "npz", "path": str(_npz(tmp_path, x=_digits()[0]))})
    with pytest.raises(ConfigError, match="holds none"):
        train_run(config, tmp_path / "run")


BAD_FILES = {  # case -> (arrays, what the message says)
    "nan": (lambda x, y: {"x": np.where(x == 0, np.nan, x / 255.0)}, "NaN or infinite"),
    "inf": (lambda x, y: {"x": np.where(x == 0, np.inf, x / 255.0)}, "NaN or infinite"),
    "missing x": (lambda x, y: {"images": x}, "no array 'x'"),
    "float labels": (lambda x, y: {"x": x, "y": y.astype(float)}, "integer class labels"),
    "short labels": (lambda x, y: {"x": x, "y": y[:-1]}, "one label per example"),
    "negative labels": (lambda x, y: {"x": x, "y": y - 1}, "labels must be classes"),
    "labels beyond the class list": (lambda x, y: {"x": x, "y": y, "class_names": np.array(["a", "b"])},
                                     "there are 2 classes"),
    "test labels missing": (lambda x, y: {"x": x, "y": y, "x_test": x[:5]}, "no y_test"),
    "unknown array": (lambda x, y: {"x": x, "labels": y}, "'labels' that is not read"),
    "int64 pixels": (lambda x, y: {"x": x.astype(np.int64)}, "uint8 pixels"),
    "one example axis only": (lambda x, y: {"x": x.reshape(-1)}, "must be \\(N, ...\\)"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_give_one_line_naming_the_file(tmp_path, capsys, case):
    build, message = BAD_FILES[case]
    path = _npz(tmp_path, "bad.npz", **build(*_digits(100)))
    with pytest.raises(DataError, match=message):
        load_dataset("npz", path=path)
    config = write_config(tmp_path, LVAE_TINY, data={"name": "npz", "path": str(path), "validation": 10})
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vaelab: error: ") and err.count("\n") == 1 and str(path) in err


def test_values_outside_the_unit_interval_are_refused_for_bernoulli_but_kept_for_gaussian(tmp_path, capsys):
    x, _ = _digits(100)
    path = _npz(tmp_path, x=x.astype(np.float32) / 8 - 1)  # spans [-1, ~3]
    assert not load_dataset("npz", path=path).bounded
    bernoulli = write_config(tmp_path, LVAE_TINY, data={"name": "npz", "path": str(path), "validation": 10})
    assert main(["train", str(bernoulli), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "outside [0, 1]" in err and str(path) in err and err.count("\n") == 1
    gaussian = write_config(tmp_path, LVAE_TINY, data={"name": "npz", "path": str(path), "validation": 10,
                                                       "binarize": False},
                            model={"observation": "gaussian"}, train={"epochs": 1})
    assert [r["epoch"] for r in train_run(gaussian, tmp_path / "gaussian")] == [1]


def test_a_file_that_is_no_npz_names_itself(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(DataError, match=f"{path}: cannot be read as an .npz file"):
        load_dataset("npz", path=path)


def test_data_path_is_required_and_must_exist(tmp_path, capsys):
    with pytest.raises(ConfigError, match="set data.path"):
        load_config(None, ["data.name=npz"])
    with pytest.raises(ConfigError, match="not digits"):
        load_config(None, [f"data.path={tmp_path}"])
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        load_config(None, ["data.name=npz", "data.path=x.npz", "data.test_fraction=1"])
    missing = tmp_path / "nowhere.npz"
    config = write_config(tmp_path, LVAE_TINY, data={"name": "npz", "path": str(missing)})
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert f"data.path {missing} does not exist" in err and err.count("\n") == 1
