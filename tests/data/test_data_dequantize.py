"""Uniform dequantisation: (k + u) / levels stays in its grey level's cell, reproducibly; bad data is refused."""

import pytest
import torch

from vaelab.data import DataError, dequantize_dynamic, dequantize_fixed, grey_levels


def test_dequantised_values_stay_in_their_cell_and_fixed_seed_repeats():
    k = torch.randint(0, 256, (50, 30))
    x = k.float() / 255
    y = dequantize_fixed(x, 256, seed=3)
    assert bool((y >= 0).all()) and bool((y < 1).all())
    assert torch.equal(torch.floor(y * 256).long(), k)
    assert torch.equal(y, dequantize_fixed(x, 256, seed=3))
    g = torch.Generator().manual_seed(3)
    assert not torch.equal(dequantize_dynamic(x, 256, g), dequantize_dynamic(x, 256, g))  # fresh noise per call
    assert grey_levels("mnist") == 256 and grey_levels("digits") == 17


@pytest.mark.parametrize("bad, message", [(float("nan"), "NaN or infinite"), (1.5, "outside"), (-0.2, "outside")])
def test_real_valued_data_outside_unit_interval_or_nan_is_refused(bad, message):
    x = torch.rand(4, 5)
    x[1, 2] = bad
    with pytest.raises(DataError, match=message):
        dequantize_fixed(x, 256, seed=0)


def test_unknown_grey_levels_are_an_error():
    with pytest.raises(DataError, match="set data.dequantize: false"):
        grey_levels("cifar")
