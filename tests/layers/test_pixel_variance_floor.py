"""The floor rule of the per-pixel decoder variances (model.pixel_var_floor): each rule bounds the predicted
variance as documented, bad values are refused in one line, and the two-stage switch works with every rule."""

import pytest
import torch

from vaelab.config import ConfigError, load_config
from vaelab.layers import make_observation_head
from vaelab.layers.decoder_variance import GaussianInputVariance
from vaelab.layers.pixel_variance_floor import PixelVarianceFloor
from vaelab.models import MODELS, HierarchyParams
from vaelab.train import TrainData, TrainSettings, fit

SIGMA2, VAR_FLOOR = 0.02, 1e-6  # sigma*^2 of stage one, model.obs_var_floor
# (rule, value, the bound the head must reach when its log-excess goes to -infinity)
RULES = [("global", None, SIGMA2), ("fraction", 0.1, 0.1 * SIGMA2), ("fraction", 1.0, SIGMA2),
         ("fixed", 1e-4, 1e-4), ("fixed", 0.5, 0.5), ("none", None, VAR_FLOOR)]


def _collapsed(head: torch.nn.Module) -> torch.Tensor:
    """The head's variance for random inputs with its log-excess forced very negative."""
    with torch.no_grad():
        head.log_excess.weight.zero_()
        head.log_excess.bias.fill_(-1e4)
        return head(torch.randn(7, 8)).variance


@pytest.mark.parametrize("rule,value,bound", RULES)
def test_two_stage_head_collapses_exactly_to_the_rule_bound(rule, value, bound):
    torch.manual_seed(0)
    head = make_observation_head("gaussian_input", 8, 12, VAR_FLOOR, 0.5, PixelVarianceFloor(rule, value))
    head.global_variance.fill_(SIGMA2)
    assert torch.allclose(head(torch.randn(3, 8)).variance, torch.full((3, 12), SIGMA2))  # stage one: global
    head.start_stage_two()
    start = head(torch.randn(3, 8)).variance  # continuous at the switch: 1.1 sigma*^2, or bound + 0.1 sigma*^2
    assert torch.allclose(start, torch.full((3, 12), max(1.1 * SIGMA2, bound + 0.1 * SIGMA2)))
    assert head.lower_bound == pytest.approx(bound)
    assert torch.allclose(_collapsed(head), torch.full((7, 12), bound), rtol=1e-6, atol=0)
    assert float(head.global_variance) == pytest.approx(SIGMA2)  # sigma*^2 itself stays as it was


def test_fraction_bound_never_goes_below_obs_var_floor():
    head = GaussianInputVariance(8, 12, 1e-3, 0.5, PixelVarianceFloor("fraction", 0.01))
    head.global_variance.fill_(SIGMA2)  # 0.01 x 0.02 = 2e-4 < 1e-3
    head.start_stage_two()
    assert torch.allclose(_collapsed(head), torch.full((7, 12), 1e-3))


@pytest.mark.parametrize("rule,value,bound", [("global", None, VAR_FLOOR), ("none", None, VAR_FLOOR),
                                              ("fixed", 1e-3, 1e-3)])
def test_pixel_head_collapses_to_its_bound(rule, value, bound):
    head = make_observation_head("gaussian_pixel", 8, 12, VAR_FLOOR, 0.5, PixelVarianceFloor(rule, value))
    with torch.no_grad():
        head.log_variance.fill_(-1e4)
    assert torch.allclose(head(torch.randn(2, 8)).variance, torch.full((2, 12), bound), rtol=1e-6, atol=0)


def test_checkpoints_hold_the_same_entries_whatever_the_rule():
    keys = {rule: set(GaussianInputVariance(8, 12, VAR_FLOOR, 0.5, PixelVarianceFloor(rule, value)).state_dict())
            for rule, value, _ in RULES}
    assert all(k == keys["global"] for k in keys.values())
    saved = GaussianInputVariance(8, 12, VAR_FLOOR, 0.5).state_dict()  # as written before the rule existed
    GaussianInputVariance(8, 12, VAR_FLOOR, 0.5, PixelVarianceFloor("fixed", 1e-4)).load_state_dict(saved)


def _config(*overrides):
    return load_config(None, ["data.binarize=false", "model.family=vae", "model.observation=gaussian_input",
                              *overrides])


def test_the_rule_is_read_from_the_config_with_global_by_default():
    assert _config().model.params.pixel_floor == PixelVarianceFloor("global", None)
    cfg = _config("model.pixel_var_floor=fixed", "model.pixel_var_floor_value=1e-4")
    assert cfg.model.params.pixel_floor == PixelVarianceFloor("fixed", 1e-4)


@pytest.mark.parametrize("overrides,message", [
    (["model.pixel_var_floor=fraction", "model.pixel_var_floor_value=-0.1"], r"in \(0, 1\], got -0.1"),
    (["model.pixel_var_floor=fraction", "model.pixel_var_floor_value=0"], r"in \(0, 1\], got 0"),
    (["model.pixel_var_floor=fraction", "model.pixel_var_floor_value=1.5"], r"in \(0, 1\], got 1.5"),
    (["model.pixel_var_floor=fraction"], r"needs model.pixel_var_floor_value"),
    (["model.pixel_var_floor=fixed", "model.pixel_var_floor_value=0"], r"a variance > 0, got 0"),
    (["model.pixel_var_floor=fixed", "model.pixel_var_floor_value=-1e-4"], r"a variance > 0"),
    (["model.pixel_var_floor=fixed", "model.pixel_var_floor_value=1e-6"], r"below model.obs_var_floor"),
    (["model.pixel_var_floor=none", "model.pixel_var_floor_value=1e-4"], r"not read by the rule none"),
    (["model.pixel_var_floor_value=0.5"], r"not read by the rule global"),
    (["model.pixel_var_floor=lowest"], r"unknown rule 'lowest'"),
    (["model.observation=gaussian_closed_form", "model.pixel_var_floor=none"], r"needs model.observation"),
    (["model.observation=gaussian_pixel", "model.pixel_var_floor=fraction", "model.pixel_var_floor_value=0.5"],
     r"gaussian_pixel does not have"),
])
def test_bad_floor_settings_are_one_line_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message) as err:
        _config(*overrides)
    assert "\n" not in str(err.value)


def _data(n=96, d=16):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, d, generator=g)[torch.randint(0, 4, (n,), generator=g)] * 0.8
    x[:, :4] = 0.0  # constant pixels: where a per-pixel variance can collapse
    return TrainData(train=x, val=x[:16].clone(), binarize=False)


@pytest.mark.parametrize("rule,value", [(r, v) for r, v, _ in RULES[:2]] + [("fixed", 1e-4), ("none", None)])
def test_two_stage_switch_works_with_every_rule(tmp_path, rule, value):
    torch.manual_seed(0)
    params = HierarchyParams(latent=(3,), hidden=(24,), batch_norm=False, observation="gaussian_input",
                             obs_var_floor=1e-6, pixel_var_floor=rule, pixel_var_floor_value=value)
    model = MODELS["vae"](16, params)
    settings = TrainSettings(epochs=4, batch_size=32, progress=False, variance_switch_max_epochs=2)
    records = fit(model, _data(), settings, tmp_path)
    assert [r["observation_stage"] for r in records] == [1, 2, 2, 2]
    head = next(m for m in model.modules() if isinstance(m, GaussianInputVariance))
    sigma2 = records[1]["obs_variance_stage_one"]
    assert float(head.global_variance) == sigma2  # frozen through stage two
    expected = PixelVarianceFloor(rule, value).bound(sigma2, 1e-6)
    assert records[-1]["obs_variance_floor"] == pytest.approx(expected)
    with torch.no_grad():
        variance = model(_data().train).px.variance
    assert float(variance.min()) >= expected and all(torch.isfinite(torch.tensor(r["train_elbo"])) for r in records)
