"""One's own networks in place of a model's MLP blocks: `encoder=` and `decoder=` (docs/guides/own-networks.md).

An own network is any nn.Module that maps a flat (N, D_in) tensor to (N, H) features. The model keeps its own
heads on top (the Gaussian of q(z|.), the observation model of p(x|.)), so variance floors, model.observation
and the objectives are unchanged; only the width H is learned from the network itself, by one call on a
(2, D_in) batch of zeros when the model is built. That call also turns a shape mismatch into one clear error.

- VAE and Ladder VAE: the encoder replaces the first block x -> d_1 (VAE: of q(z_1|x); Ladder VAE: of the
  upward pass); the decoder replaces the block z_1 -> h under p(x|z_1).
- M2, ADGM, SDGM: the encoder is a feature network on x shared by every network that reads x (q(y|.),
  q(z|.), q(a|x), p(a|.,x)); the decoder replaces the network under p(x|.) and reads its inputs joined
  ([y, z]; SDGM [a, y, z]), flat.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

DRY_BATCH = 2  # rows of the trial call: batch-norm layers in training mode need more than one


def output_width(net: nn.Module, in_features: int, role: str) -> int:
    """H of the (N, H) features `net` returns for (N, in_features) inputs; ValueError saying what is wrong."""
    like = next((t for t in (*net.parameters(), *net.buffers())), None)
    x = torch.zeros(DRY_BATCH, in_features, device=None if like is None else like.device,
                    dtype=torch.float32 if like is None or not like.is_floating_point() else like.dtype)
    was_training = net.training
    net.eval()  # the trial must not move batch-norm statistics
    try:
        with torch.no_grad():
            out = net(x)
    except Exception as err:  # noqa: BLE001 - any failure of the user's module is reported as its shape error
        raise ValueError(f"the {role} fails on a ({DRY_BATCH}, {in_features}) input ({type(err).__name__}: "
                         f"{str(err).splitlines()[0][:160]}); it must read flat ({in_features}-wide) rows: "
                         f"begin a convolutional network with nn.Unflatten(1, (C, H, W))") from None
    finally:
        net.train(was_training)
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != DRY_BATCH:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(f"the {role} returns {shape} for a ({DRY_BATCH}, {in_features}) input; it must return "
                         f"(N, H) features, one row per input row: end it with nn.Flatten()")
    return int(out.shape[1])


def first_block(own: nn.Module | None, default: nn.Module, default_width: int, in_features: int,
                role: str) -> tuple[nn.Module, int]:
    """(the block, its output width): the own network where one is given, else the model's default MLP."""
    if own is None:
        return default, default_width
    return own, output_width(own, in_features, role)


class JoinedInputs(nn.Module):
    """An own network with ConditionalMLP's interface: parts (..., D_k) broadcast, joined, read flat.

    forward(*parts) with parts broadcasting to leading shape L returns (*L, H).
    """

    def __init__(self, net: nn.Module, in_features: tuple[int, ...], role: str) -> None:
        super().__init__()
        self.net = net
        self.in_features = tuple(in_features)
        self.out_features = output_width(net, sum(self.in_features), role)

    def forward(self, *parts: Tensor) -> Tensor:
        lead = torch.broadcast_shapes(*(p.shape[:-1] for p in parts))
        joined = torch.cat([p.expand(*lead, p.shape[-1]) for p in parts], dim=-1)  # (*L, sum D_k)
        return self.net(joined.reshape(-1, joined.shape[-1])).reshape(*lead, -1)


def own_modules(*nets: nn.Module | None) -> tuple[nn.Module, ...]:
    """The own networks given (None dropped): the model's initialisation scheme leaves them as they are."""
    return tuple(n for n in nets if n is not None)
