"""The top-level `experiment` key: optional, a string, kept through YAML, and every preset names a known one."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaelab.config import ConfigError, config_from_dict, dump_config, load_config
from vaelab.evaluation.references import REFERENCE_METRICS, paper_references

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_experiment_is_optional_and_survives_yaml(tmp_path):
    assert config_from_dict({}).experiment is None
    config = config_from_dict({"experiment": "lvae-fig3/vae-2layer"})
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(config))
    assert load_config(path).experiment == "lvae-fig3/vae-2layer"
    path.write_text(dump_config(config_from_dict({})))  # writes `experiment: null`
    assert load_config(path).experiment is None


def test_experiment_must_be_text():
    with pytest.raises(ConfigError, match="experiment"):
        config_from_dict({"experiment": [1, 2]})
    with pytest.raises(ConfigError, match="unknown section 'experimnt'"):
        config_from_dict({"experimnt": "x"})


@pytest.mark.parametrize("path", sorted((CONFIGS / "lvae").glob("*.yaml")), ids=lambda p: p.name)
def test_every_lvae_preset_names_a_paper_experiment(path):
    assert load_config(path).experiment in paper_references()


def test_reference_numbers_are_those_of_the_papers():
    refs = paper_references()
    assert refs["lvae-fig3/lvae-bn-wu-5layer"].numbers == {"elbo": -85.23, "log_likelihood": -82.12}
    assert refs["lvae-table1/lvae-5layer-finetune-iw10"].numbers == {"log_likelihood": -81.74}
    assert refs["adgm-table1/avae-2layer"].numbers == {"log_likelihood": -82.97}
    assert refs["adgm-table2/mnist-100-adgm"].numbers == {"error": 0.96}
    assert all(set(r.numbers) <= set(REFERENCE_METRICS) for r in refs.values())
