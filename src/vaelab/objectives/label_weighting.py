"""How the Monte Carlo samples of a weight the classes in the semi-supervised bounds (`train.label_weights`).

With S draws a_s ~ q(a|x) and, for every class y and draw s, z_ys ~ q(z|a_s,y,x), write
    f_ys = log p(x, y, a_s, z_ys) - log q(a_s|x) - log q(z_ys|a_s,y,x)     (the row terms of eq. 10)
and q_s(y) = q(y|a_s,x). Two estimates of -U(x) (eq. 17 / 27, y summed exactly):

`per_sample` (default, eq. 17 as written; the inference model q(a|x) q(y|a,x) q(z|a,y,x)):
    -U = (1/S) sum_s sum_y q_s(y) (f_ys - log q_s(y))

`averaged` (the classifier averaged over the draws, as in the authors' code):
    qbar(y|x) = (1/S) sum_s q_s(y),   -U = sum_y qbar(y|x) ((1/S) sum_s f_ys) + H(qbar(.|x))
As S grows, qbar tends to q(y|x) = E_q(a|x)[q(y|a,x)] and -U to the ELBO of the inference model
q(a|x) q(y|x) q(z|a,y,x), in which y is independent of a given x (q(y|x) is also what `vaelab classify` uses).
For finite S it is still a lower bound on log p(x) in expectation: for any weights, sum_y qbar(y) F_y + H(qbar)
<= log sum_y exp(F_y) with F_y = (1/S) sum_s f_ys <= log sum_y (1/S) sum_s exp(f_ys) (Jensen over s), whose
expectation is <= log p(x) (Jensen again; E exp(f_ys) = p(x, y)). Its class weights qbar are less noisy than
the per-draw q_s, which is the point of the option when q(a|x) is broad.

The classification term of eq. 12 follows the same choice: mean_s -log q_s(y) (`per_sample`) or
-log qbar(y|x) (`averaged`; the authors' code averages the softmax outputs over the draws inside the log),
which is never larger (Jensen).

`authors` (the ADGM authors' code, adgmssl.py:199-234): -U as `averaged` (qbar, lines 228-233) and the
cross-entropy as `per_sample` (mean_s -log q_s(y), lines 207-211). Their qbar also adds 1e-8 and renormalises
(lines 230-231), which changes nothing at float32 precision worth modelling.

With S = 1, qbar = q_1 and all rules give the same numbers and the same gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


@dataclass(frozen=True)
class LabelWeighting:
    """One rule: the unlabelled bound's sum over classes and the labelled cross-entropy."""

    sum_over_labels: Callable[[Tensor, Tensor], Tensor]  # log q_s(y) (C, S, B), f_ys (C, S, B) -> -U (B,)
    cross_entropy: Callable[[Tensor], Tensor]  # log q_s(true y) (S, B) -> (B,)


def _log_mean_over_samples(log_q: Tensor) -> Tensor:
    """log qbar: the log of the mean over dim 0 of exp(log_q), computed stably."""
    return torch.logsumexp(log_q, dim=0) - math.log(log_q.shape[0])


def _per_sample_sum(log_qy: Tensor, f: Tensor) -> Tensor:
    return (log_qy.exp() * (f - log_qy)).sum(0).mean(0)


def _averaged_sum(log_qy: Tensor, f: Tensor) -> Tensor:
    log_qbar = _log_mean_over_samples(log_qy.transpose(0, 1))  # (C, B)
    return (log_qbar.exp() * (f.mean(1) - log_qbar)).sum(0)


LABEL_WEIGHTINGS = {
    "per_sample": LabelWeighting(_per_sample_sum, lambda log_qy: -log_qy.mean(0)),
    "averaged": LabelWeighting(_averaged_sum, lambda log_qy: -_log_mean_over_samples(log_qy)),
    "authors": LabelWeighting(_averaged_sum, lambda log_qy: -log_qy.mean(0)),
}


def label_weighting(name: str) -> LabelWeighting:
    """The rule called `name` (a key of LABEL_WEIGHTINGS)."""
    if name not in LABEL_WEIGHTINGS:
        raise ValueError(f"unknown train.label_weights {name!r}; choose one of {sorted(LABEL_WEIGHTINGS)}")
    return LABEL_WEIGHTINGS[name]
