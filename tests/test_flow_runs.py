"""A run with a flow posterior, end to end on digits: train, resume-safe config, evaluate (L_1 and L_K)."""

import pytest
import yaml

from single_thread import one_thread  # noqa: F401 - the fixture, used through pytestmark
from vaelab.runs import evaluate_run, train_run

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG = {
    "data": {"name": "digits", "validation": 100, "download": False},
    "model": {"family": "lvae", "latent": [8, 4], "hidden": [32, 16], "flow": "iaf", "flow_steps": 2,
              "flow_layers": "all", "flow_hidden": 16},
    "train": {"epochs": 1, "batch_size": 128, "progress": False},
    "eval": {"iw_samples": 20, "batch_size": 50, "sample_chunk": 10},
}


def test_train_and_evaluate_a_ladder_vae_with_iaf(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    records = train_run(str(path), tmp_path / "run")
    assert records[-1]["val_elbo"] < 0 and records[-1]["val_kl_per_unit"] == {}  # flowed layers: no per-unit KL
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["model"]["flow"] == "iaf" and saved["model"]["flow_layers"] == "all"
    result = evaluate_run(tmp_path / "run", limit=60, progress=False)
    assert result["log_likelihood"] > result["elbo"] - 0.5  # L_20 >= L_1 up to noise on 60 examples
    assert set(result["kl_per_layer"]) == {"z1", "z2"} and result["kl_per_unit"] == {}
    assert "Monte Carlo" in result["bound"]
