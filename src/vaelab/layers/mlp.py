"""The deterministic mapping d(y) of LVAE eqs. 10 and 13: an MLP with two hidden layers."""

from __future__ import annotations

from typing import Callable

from torch import Tensor, nn

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "leaky_relu": lambda: nn.LeakyReLU(0.1),  # max(x, 0.1x), the LVAE paper's MNIST choice
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


class MLP(nn.Module):
    """Linear -> [BatchNorm] -> activation, repeated once per hidden layer.

    Input (N, in_features), output (N, hidden[-1]). The output is the last hidden layer d, from which
    distribution heads read their parameters.
    """

    def __init__(
        self,
        in_features: int,
        hidden: list[int] | tuple[int, ...],
        activation: str = "leaky_relu",
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(ACTIVATIONS[activation]())
            width = size
        self.net = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
