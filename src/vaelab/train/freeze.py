"""train.freeze: submodules whose parameters the optimiser never sees, so they keep their initial weights.

The ADGM authors' code trains only the classifier q(y|a,x) and q(z|x,y) p(x|z,y) (ml-lab/auxiliary-deep-generative-
models models/adgmssl.py:171-172, 267): q(a|x) keeps its random initial weights. `train.freeze:
[inference.q_a, inference.q_a_head]` reproduces that as an ablation.
"""

from __future__ import annotations

from typing import Sequence

from torch import nn


def freezable(model: nn.Module) -> list[str]:
    """The names train.freeze accepts that hold parameters, to two levels (e.g. inference, inference.q_a)."""
    return [name for name, m in model.named_modules()
            if name and name.count(".") <= 1 and any(True for _ in m.parameters())]


def check_freeze(model: nn.Module, names: Sequence[str]) -> None:
    """Raise ValueError, naming the choices, unless every name is a submodule of model (as named_modules names it)."""
    modules = dict(model.named_modules())
    unknown = [n for n in names if not n or n not in modules]
    if unknown:
        raise ValueError(f"train.freeze: {unknown[0]!r} is not a submodule of this model; choose among "
                         f"{', '.join(freezable(model))}")


def freeze(model: nn.Module, names: Sequence[str]) -> None:
    """Stop gradients to every parameter of the named submodules (requires_grad False)."""
    check_freeze(model, names)
    modules = dict(model.named_modules())
    for name in names:
        modules[name].requires_grad_(False)
