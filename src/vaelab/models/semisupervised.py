"""What M2, the ADGM and the SDGM share: settings, the row layout of an enumerated label, the label site.

Rows (see models/base.py): an observed label gives the (S, B) layout, an enumerated one (C, S, B),
class-major. Tensors are built at the resolution where they vary -- per example (1, [1,] B, D), per sample
(S, B, D) or per class (C, 1, 1, C) -- and broadcast; `Rows.flat` expands and flattens them to (N, D).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from vaelab.layers.heads import diagonal_normal
from vaelab.models.base import LabelSite
from vaelab.models.conditional import INITS

AUX_PRIORS = ("conditional", "standard_normal")  # the ADGM's p(a | .): its generative network, or N(0, I)


@dataclass(frozen=True)
class SemiSupervisedParams:
    """M2 (Kingma et al. 2014) settings; ADGM section 3: two hidden layers of 500 or 1000 ReLU units."""

    classes: int = 10  # number of classes; must match the data set's
    latent: int = 100  # dim(z)
    hidden: tuple[int, ...] = (500, 500)  # the hidden layers of every network, one width each: [500, 500] is two
                                          # layers of 500 units, [512] a single layer
    activation: str = "relu"  # relu | tanh | leaky_relu (slope 0.1)
    batch_norm: bool = False  # batch-norm after every hidden linear layer
    observation: str = "bernoulli"  # bernoulli | gaussian (mean and log-variance heads)
    var_floor: float = 0.0  # added to every latent variance (the log-variance is clamped too)
    obs_var_floor: float = 1e-4  # floor of a Gaussian observation variance
    init: str = "glorot"  # glorot (uniform, zero biases) | authors (the ADGM code's; models/conditional.py)

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"model.init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.classes < 1:
            raise ValueError(f"model.classes must be >= 1, got {self.classes}")
        if self.latent < 1 or not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError("model.latent and every model.hidden size must be positive, e.g. hidden: [500, 500]")
        if self.var_floor < 0 or self.obs_var_floor < 0:
            raise ValueError("model.var_floor and model.obs_var_floor must be >= 0")


@dataclass(frozen=True)
class AuxiliaryParams(SemiSupervisedParams):
    """ADGM and SDGM settings: M2's plus the size of the auxiliary variable a (100 or 300 in the paper)."""

    auxiliary: int = 100  # dim(a)
    aux_reads_x: bool = True  # ADGM: p(a|z,y,x) (eqs. 5, 24) or, false, p(a|z,y) (section 3, the experiments)
    aux_prior: str = "conditional"  # ADGM: conditional (p(a|z,y[,x])) | standard_normal (p(a) = N(0, I))
    q_z_reads_a: bool = True  # q(z|a,y,x) (eq. 9) or, false, q(z|y,x) (the ADGM authors' code)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.auxiliary < 1:
            raise ValueError(f"model.auxiliary must be >= 1, got {self.auxiliary}")
        if self.aux_prior not in AUX_PRIORS:
            raise ValueError(f"model.aux_prior must be one of {', '.join(AUX_PRIORS)}, got {self.aux_prior!r}")


@dataclass(frozen=True)
class Rows:
    """The row layout of one forward pass: (C, S, B) when y is enumerated, else (S, B)."""

    classes: int
    samples: int
    batch: int
    enumerated: bool

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.classes, self.samples, self.batch) if self.enumerated else (self.samples, self.batch)

    def per_example(self, t: Tensor) -> Tensor:
        """(B, D) -> (1, [1,] B, D)."""
        return t.view(*([1] * (len(self.shape) - 1)), *t.shape)

    def per_sample(self, t: Tensor) -> Tensor:
        """(S*B, D) sample-major -> ([1,] S, B, D)."""
        return t.view(*([1] if self.enumerated else []), self.samples, self.batch, t.shape[-1])

    def labels(self, y: Tensor | None) -> Tensor:
        """Class index of every row position: (C, 1, 1) enumerated, (1, B) observed."""
        if self.enumerated:
            return torch.arange(self.classes).view(self.classes, 1, 1)
        return y.view(1, self.batch)

    def one_hot(self, y: Tensor | None, like: Tensor) -> Tensor:
        """One-hot labels at their own resolution: (C, 1, 1, C) or (1, B, C)."""
        return F.one_hot(self.labels(y).to(like.device), self.classes).to(like.dtype)

    def flat(self, t: Tensor) -> Tensor:
        """Broadcast (..., D) to the full layout and flatten to (N, D)."""
        return t.expand(*self.shape, t.shape[-1]).reshape(-1, t.shape[-1])

    def unflat(self, t: Tensor) -> Tensor:
        """(N, D) -> (*shape, D)."""
        return t.view(*self.shape, t.shape[-1])


def check_labels(y: Tensor, classes: int, batch: int) -> None:
    """y must be (B,) integer classes in [0, C)."""
    if y.shape != (batch,) or y.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"labels y must be an integer tensor of shape ({batch},), got {y.dtype} {tuple(y.shape)}")
    if torch.compiler.is_compiling():  # reading values would split the compiled graph; training data were
        return  # checked when loaded (vaelab.data.check_labels)
    if batch and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}, got {int(y.min())}..{int(y.max())}")


def label_site(rows: Rows, y: Tensor | None, logits: Tensor) -> LabelSite:
    """The label site: y per row, q(y|.) from `logits` (at any resolution that broadcasts), uniform p(y)."""
    flat_logits = rows.flat(logits)  # (N, C)
    y_rows = rows.flat(rows.labels(y).unsqueeze(-1).to(logits.device)).squeeze(-1)
    prior = Categorical(logits=torch.zeros_like(flat_logits))  # p(y) = Cat(1/C)
    return LabelSite(y_rows, Categorical(logits=flat_logits), prior, rows.classes, rows.enumerated)


def standard_normal(n: int, dim: int, like: Tensor) -> Distribution:
    """p(z) = N(0, I) for n rows."""
    zeros = like.new_zeros(n, dim)
    return Independent(Normal(zeros, torch.ones_like(zeros)), 1)


def repeat_gaussian(mean: Tensor, var: Tensor, rows: Rows) -> Distribution:
    """A per-sample Gaussian (S*B, D) laid out on every row (shared across classes)."""
    return diagonal_normal(rows.flat(rows.per_sample(mean)), rows.flat(rows.per_sample(var)))


def default_labels(n: int, classes: int) -> Tensor:
    """0, 1, ..., C-1, 0, 1, ...: n labels, one class per column of a grid with C columns."""
    return torch.arange(n) % classes


class LabelledModel(nn.Module):
    """Behaviour common to the semi-supervised families: the label site and generation from the prior."""

    takes_labels = True
    params: SemiSupervisedParams

    def rows(self, x: Tensor, y: Tensor | None, n_samples: int) -> Rows:
        if y is not None:
            check_labels(y, self.params.classes, x.shape[0])
        return Rows(self.params.classes, n_samples, x.shape[0], enumerated=y is None)

    def decode(self, z: Tensor, y: Tensor) -> Distribution:  # pragma: no cover - every family defines it
        raise NotImplementedError

    @torch.no_grad()
    def generate(self, n: int, y: Tensor | None = None) -> Distribution:
        """p(x | y, z) for z ~ N(0, I) and labels y (default: 0, 1, ..., C-1, 0, ...), shape (n, D)."""
        like = next(self.parameters())
        y = default_labels(n, self.params.classes) if y is None else y
        z = standard_normal(n, self.params.latent, like).sample()
        return self.decode(z, y.to(like.device))


@torch.no_grad()
def class_probabilities(model: nn.Module, x: Tensor, n_samples: int, batch_size: int = 500) -> Tensor:
    """(N, C): q(y|a,x) averaged over n_samples draws of a, in eval mode (the mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.classify(xb, n_samples=n_samples) for xb in x.split(batch_size)])
    finally:
        model.train(was_training)
