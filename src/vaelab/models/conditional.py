"""Networks over several inputs (ADGM section 3): an MLP whose first layer is split per input, Glorot init.

A conditional such as q(z | a, y, x) reads the concatenation [a, y, x]. Its first layer is
W [a; y; x] + b = W_a a + W_y y + W_x x + b, so each part can be computed at the resolution where it varies
and broadcast: W_x x once per example, W_a a once per sample of a, W_y y once per class. When the label is
enumerated this saves the (C*S) - 1 repeated products of the widest input x without changing the function.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vaelab.layers import ACTIVATIONS, MLP, BernoulliHead, GaussianHead


class SplitLinear(nn.Module):
    """y = sum_k W_k u_k + b over parts u_k whose leading dimensions broadcast against each other.

    Equal to one nn.Linear over the concatenated inputs, initialised with that layer's Glorot bound.
    Input parts (..., D_k); output (broadcast leading dims, out_features).
    """

    def __init__(self, in_features: tuple[int, ...], out_features: int) -> None:
        super().__init__()
        self.in_features = tuple(in_features)
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(out_features, d)) for d in self.in_features)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.glorot_()

    def glorot_(self) -> None:
        """Glorot & Bengio (2010) uniform init of the whole (concatenated) weight matrix, zero bias."""
        fan_in, fan_out = sum(self.in_features), self.bias.shape[0]
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        with torch.no_grad():
            for w in self.weights:
                w.uniform_(-bound, bound)
            self.bias.zero_()

    def forward(self, *parts: Tensor) -> Tensor:
        if len(parts) != len(self.weights):
            raise ValueError(f"SplitLinear expects {len(self.weights)} inputs, got {len(parts)}")
        out = self.bias
        for u, w in zip(parts, self.weights):
            out = out + u @ w.T
        return out


class ConditionalMLP(nn.Module):
    """SplitLinear -> [BatchNorm] -> activation, then the remaining hidden layers as an MLP.

    forward(*parts) with parts (..., D_k) broadcasting to leading shape L returns (*L, hidden[-1]).
    """

    def __init__(self, in_features: tuple[int, ...], hidden: tuple[int, ...], activation: str,
                 batch_norm: bool) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        self.first = SplitLinear(in_features, hidden[0])
        self.norm = nn.BatchNorm1d(hidden[0]) if batch_norm else None
        self.act = ACTIVATIONS[activation]()
        self.rest = MLP(hidden[0], list(hidden[1:]), activation, batch_norm)
        self.out_features = hidden[-1]

    def forward(self, *parts: Tensor) -> Tensor:
        h = self.first(*parts)  # (*L, H)
        lead = h.shape[:-1]
        h = h.reshape(-1, h.shape[-1])  # batch-norm wants (N, H)
        if self.norm is not None:
            h = self.norm(h)
        return self.rest(self.act(h)).reshape(*lead, self.out_features)


def glorot_(module: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases for every linear layer inside `module` (ADGM section 3)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, SplitLinear):
            m.glorot_()
    return module


BIAS_STD = 1e-3  # adgmssl.py: every DenseLayer's bias is init.Normal(1e-3)
RELU_GAIN = math.sqrt(2.0)  # Lasagne's gain 'relu'


def _glorot(w: Tensor, fan_in: int, fan_out: int, gain: float, uniform: bool) -> None:
    """Lasagne's GlorotUniform / GlorotNormal: bound gain sqrt(6 / (fan_in + fan_out)), std gain sqrt(2 / (...))."""
    if uniform:
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        w.uniform_(-bound, bound)
    else:
        w.normal_(0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _authors_layer(m: nn.Module, gain: float, uniform: bool) -> None:
    """One layer: the authors' code has one DenseLayer per input part (adgmssl.py:79-83, 94-98, 114-118), each
    with its own fans and its own bias; the parts' biases sum to one of std BIAS_STD sqrt(parts)."""
    if isinstance(m, SplitLinear):
        for w in m.weights:
            _glorot(w, w.shape[1], w.shape[0], gain, uniform)
        m.bias.normal_(0.0, BIAS_STD * math.sqrt(len(m.weights)))
    else:
        _glorot(m.weight, m.in_features, m.out_features, gain, uniform)
        m.bias.normal_(0.0, BIAS_STD)


def _authors_rule(name: str) -> tuple[float, bool]:
    """(gain, uniform) of the layer at `name`: hidden layers GlorotNormal('relu') (adgmssl.py:68, 79-81, 94-96,
    103, 114-116, 122), output heads GlorotNormal() (69-70, 104-105, 126-133), the classifier's deeper layers
    GlorotUniform('relu') (88) and its output GlorotUniform() (89)."""
    parts = name.split(".")
    if "q_y_head" in parts:
        return 1.0, True
    if any(p.endswith("_head") for p in parts):
        return 1.0, False
    if "q_y" in parts:
        inner = parts[parts.index("q_y") + 1:]
        first = inner[:1] == ["first"] or inner[:2] == ["net", "0"]  # ConditionalMLP or MLP (M2)
        return RELU_GAIN, not first
    return RELU_GAIN, False


def authors_init_(module: nn.Module) -> nn.Module:
    """The initialisation of the ADGM authors' code (ml-lab/auxiliary-deep-generative-models models/adgmssl.py):
    see _authors_rule; every bias Normal(0, 1e-3). Batch-norm layers keep torch's initialisation."""
    with torch.no_grad():
        for name, m in module.named_modules():
            if isinstance(m, (nn.Linear, SplitLinear)):
                _authors_layer(m, *_authors_rule(name))
    return module


INITS = {"glorot": glorot_, "authors": authors_init_}  # model.init of the semi-supervised families


def initialise_(module: nn.Module, scheme: str, keep: tuple[nn.Module, ...] = ()) -> nn.Module:
    """Initialise every linear layer of `module` by the scheme named (a key of INITS), except inside the modules
    of `keep` (own networks, models/networks.py), whose weights stay as their author made them."""
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in keep]
    INITS[scheme](module)
    for m, state in zip(keep, saved):
        m.load_state_dict(state)
    return module


def gaussian_head(in_features: int, out_features: int, var_floor: float) -> GaussianHead:
    """Two linear outputs, mean and log-variance (ADGM eqs. 14-16)."""
    return GaussianHead(in_features, out_features, var_floor, variance="logvar")


OBSERVATIONS = {
    "bernoulli": lambda h, d, floor, variance: BernoulliHead(h, d),
    "gaussian": lambda h, d, floor, variance: GaussianHead(h, d, floor, variance),
}


def observation_head(kind: str, in_features: int, out_features: int, var_floor: float,
                     variance: str = "logvar") -> nn.Module:
    """The head of p(x | .): Bernoulli (binary x) or Gaussian (log-variance output unless told otherwise)."""
    if kind not in OBSERVATIONS:
        raise ValueError(f"unknown observation model {kind!r}; choose one of {sorted(OBSERVATIONS)}")
    return OBSERVATIONS[kind](in_features, out_features, var_floor, variance)
