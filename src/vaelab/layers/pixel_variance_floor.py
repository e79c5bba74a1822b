"""The lower bound of a per-pixel decoder variance (model.pixel_var_floor, model.pixel_var_floor_value).

A Gaussian with variance v on a pixel whose value the mean predicts exactly has log-density -0.5 log(2 pi v),
which grows without limit as v shrinks: on pixels that are constant in the data (the zero background of MNIST
and Fashion-MNIST, unless dequantised) a per-pixel variance can collapse towards whatever bounds it and add
density without modelling anything. The rule names that bound:

    global    sigma*^2, the stage-one global optimum of the two-stage head (the paper's rule, Algorithm 1)
    fraction  value x sigma*^2, with value in (0, 1]
    fixed     value, a variance > 0 (at least model.obs_var_floor)
    none      model.obs_var_floor only, the numerical floor every Gaussian decoder variance has

The bound never goes below obs_var_floor. gaussian_pixel (sigma^2_d learned by gradient, no stage one) has no
sigma*^2: it takes fixed or none, and reads global, the default, as its floor obs_var_floor as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# rule -> (the check of model.pixel_var_floor_value, None where the rule reads no value; what the value must be)
FLOOR_VALUES: dict[str, tuple[Callable[[float], bool] | None, str]] = {
    "global": (None, ""),
    "fraction": (lambda v: 0 < v <= 1, "a fraction of sigma*^2 in (0, 1]"),
    "fixed": (lambda v: v > 0, "a variance > 0"),
    "none": (None, ""),
}
# rule -> bound(sigma*^2, value, obs_var_floor), before the obs_var_floor clamp
FLOOR_BOUNDS: dict[str, Callable[[float, float | None, float], float]] = {
    "global": lambda global_var, value, var_floor: global_var,
    "fraction": lambda global_var, value, var_floor: value * global_var,
    "fixed": lambda global_var, value, var_floor: value,
    "none": lambda global_var, value, var_floor: var_floor,
}
# the rules a per-pixel head without a stage-one sigma*^2 (gaussian_pixel) can follow
RULES_WITHOUT_GLOBAL = ("global", "fixed", "none")


@dataclass(frozen=True)
class PixelVarianceFloor:
    """A checked floor rule: rule is a key of FLOOR_BOUNDS, value its number (None for global and none)."""

    rule: str = "global"  # global | fraction | fixed | none (see the module docstring)
    value: float | None = None  # fraction: share of sigma*^2 in (0, 1]; fixed: the variance; else unset

    def __post_init__(self) -> None:
        if self.rule not in FLOOR_VALUES:
            raise ValueError(f"model.pixel_var_floor: unknown rule {self.rule!r}; choose one of "
                             f"{', '.join(FLOOR_VALUES)}")
        check, wanted = FLOOR_VALUES[self.rule]
        if check is None and self.value is not None:
            raise ValueError(f"model.pixel_var_floor_value is not read by the rule {self.rule}: remove it, or set "
                             f"model.pixel_var_floor to fraction or fixed")
        if check is not None and (self.value is None or not check(self.value)):
            raise ValueError(f"model.pixel_var_floor {self.rule} needs model.pixel_var_floor_value set to "
                             f"{wanted}, got {self.value}")

    def bound(self, global_variance: float, var_floor: float) -> float:
        """The smallest variance the head may predict: the rule's bound, never below var_floor."""
        return max(FLOOR_BOUNDS[self.rule](global_variance, self.value, var_floor), var_floor)

    def bound_without_global(self, var_floor: float) -> float:
        """The bound for a head that has no sigma*^2 (gaussian_pixel): global reads as none there."""
        if self.rule not in RULES_WITHOUT_GLOBAL:
            raise ValueError(f"model.pixel_var_floor {self.rule} scales the two-stage sigma*^2, which "
                             f"gaussian_pixel does not have: use fixed or none, or model.observation gaussian_input")
        return var_floor if self.rule == "global" else self.bound(var_floor, var_floor)

    def check_against(self, var_floor: float) -> None:
        """A fixed bound below the numerical floor would be silently raised to it: refuse it instead."""
        if self.rule == "fixed" and self.value is not None and self.value < var_floor:
            raise ValueError(f"model.pixel_var_floor_value {self.value:g} is below model.obs_var_floor "
                             f"{var_floor:g}: raise the value or lower obs_var_floor")
