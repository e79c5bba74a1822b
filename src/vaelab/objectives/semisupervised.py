"""Semi-supervised bounds (ADGM eqs. 10-13, 17, 26-27), written once over the contract's label site.

For a model with a label site (models/base.py) and one row of (a, y, z) samples:
    f(x, y, a, z) = log p(x | .) + log p(y) + sum_sites [log p(site | .) - log q(site | .)]
Labelled (eq. 10):    log p(x, y) >= E_q(a,z|x,y)[f]                                   = -L(x, y)
Unlabelled (eq. 27):  log p(x)    >= E_q(a|x)[ sum_y q(y|a,x) (E_q(z|a,y,x)[f] - log q(y|a,x)) ]  = -U(x)
with the sum over y done exactly by one forward pass over every class (eq. 17), and the classification
term of eq. 12 added to the labelled loss with weight alpha = beta (N_l + N_u) / N_l. Bounds are returned
as lower bounds on log-likelihoods (nats, higher is better); losses are their negatives.
Where a site allows it (Latent.analytic_kl) the training bounds use the closed-form KL, as elbo() does.
With several samples of a, `label_weights` (objectives/label_weighting.py) chooses between the per-sample
weights above and the classifier averaged over the samples, qbar(y|x) = mean_s q(y|a_s,x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from vaelab.distributions import StreamingLogMeanExp, kl_estimate
from vaelab.models.base import ModelOutput, repeat_samples, run_model
from vaelab.objectives.label_weighting import label_weighting


@dataclass
class LabelledTerms:
    bound: Tensor  # (B,) -L(x, y), beta = 1, detached
    train_bound: Tensor  # (B,) the beta-weighted bound, with gradient
    cross_entropy: Tensor  # (B,) E_q(a|x)[-log q(y|a,x)], with gradient
    probs: Tensor  # (B, C) q(y|a,x) averaged over the samples of a, detached


@dataclass
class UnlabelledTerms:
    bound: Tensor  # (B,) -U(x), beta = 1, detached
    train_bound: Tensor  # (B,) with gradient


@dataclass
class SemiSupervisedObjective:
    """J of eq. 13 over one batch (labelled and unlabelled parts) and what it is made of."""

    loss: Tensor  # scalar: J / (B_l + B_u)
    labelled: LabelledTerms
    unlabelled: UnlabelledTerms


def classification_weight(beta: float, n_labelled: int, n_unlabelled: int) -> float:
    """alpha = beta (N_l + N_u) / N_l (ADGM eq. 12)."""
    if n_labelled < 1:
        raise ValueError(f"the classification weight needs labelled data, got N_l = {n_labelled}")
    if beta < 0 or n_unlabelled < 0:
        raise ValueError(f"beta and N_u must be >= 0, got {beta} and {n_unlabelled}")
    return beta * (n_labelled + n_unlabelled) / n_labelled


def _row_terms(out: ModelOutput, x_rows: Tensor, beta: float) -> tuple[Tensor, Tensor]:
    """(f with beta = 1, f with beta on the sites), each (N,); closed-form KL where the site allows it."""
    if out.label is None:
        raise ValueError("this objective needs a semi-supervised model (out.label); use elbo() for the others")
    base = out.px.log_prob(x_rows) + out.label.p.log_prob(out.label.y)
    kl = sum((kl_estimate(s.q, s.p, s.z, s.analytic_kl) for s in out.latents), torch.zeros_like(base))
    return base - kl, base - beta * kl


def log_weights_xy(out: ModelOutput, x_rows: Tensor) -> Tensor:
    """log p(x, y, latents) - log q(latents | x, y) of every row, (N,): the importance weights of eq. 10."""
    if out.label is None:
        raise ValueError("log_weights_xy needs a semi-supervised model (out.label)")
    log_w = out.px.log_prob(x_rows) + out.label.p.log_prob(out.label.y)
    for s in out.latents:
        log_w = log_w + s.p.log_prob(s.z) - s.q.log_prob(s.z)
    return log_w


def labelled_bound(model: nn.Module, x: Tensor, y: Tensor, samples: int = 1, beta: float = 1.0,
                   label_weights: str = "per_sample") -> LabelledTerms:
    """-L(x, y) of eq. 10 and the cross-entropy of eq. 12, averaged over `samples` draws of (a, z).

    x (B, D), y (B,) int64. One forward pass: the same draws of a serve the bound and the classifier.
    label_weights (see LABEL_WEIGHTINGS): the cross-entropy is mean_s -log q(y|a_s,x) (`per_sample`) or
    -log qbar(y|x) with qbar = mean_s q(y|a_s,x) (`averaged`).
    """
    rule = label_weighting(label_weights)
    batch = x.shape[0]
    out = run_model(model, x, n_samples=samples, y=y)
    true_f, train_f = _row_terms(out, repeat_samples(x, samples), beta)  # (S*B,)
    log_qy = out.label.q.log_prob(out.label.y).view(samples, batch)
    probs = out.label.q.probs.detach().view(samples, batch, -1).mean(0)
    return LabelledTerms(true_f.detach().view(samples, batch).mean(0), train_f.view(samples, batch).mean(0),
                         rule.cross_entropy(log_qy), probs)


def unlabelled_bound(model: nn.Module, x: Tensor, samples: int = 1, beta: float = 1.0,
                     label_weights: str = "per_sample") -> UnlabelledTerms:
    """-U(x) of eqs. 17 and 27: Monte Carlo over a and z, exact over y (one pass over batch x classes).

    label_weights (see LABEL_WEIGHTINGS) picks how the S samples of a weight the enumerated classes.
    """
    rule = label_weighting(label_weights)
    out = run_model(model, x, n_samples=samples, y=None)
    if out.label is None or not out.label.enumerated:
        raise ValueError("the unlabelled bound needs a model that enumerates y when called with y=None")
    repeats = out.label.y.shape[0] // x.shape[0]  # C * S
    true_f, train_f = _row_terms(out, repeat_samples(x, repeats), beta)  # (C*S*B,)
    shape = (out.label.classes, samples, x.shape[0])
    log_qy = out.label.q.log_prob(out.label.y).view(shape)
    return UnlabelledTerms(rule.sum_over_labels(log_qy, true_f.detach().view(shape)).detach(),
                           rule.sum_over_labels(log_qy, train_f.view(shape)))


def batch_weights(rule: str, n_labelled: int, n_unlabelled: int) -> float:
    """The weight of each labelled example's term relative to an unlabelled example's in one batch.

    `examples`: every example of the batch counts once (1). `halves`: the labelled and the unlabelled half
    each count as their mean, as the authors' code does (B_u / B_l: the same as `examples` when B_l = B_u, as
    on MNIST, but B_u / B_l = 100 / 6 on the half-moons).
    """
    if rule not in BATCH_WEIGHTINGS:
        raise ValueError(f"unknown train.batch_weighting {rule!r}; choose one of {sorted(BATCH_WEIGHTINGS)}")
    return BATCH_WEIGHTINGS[rule](n_labelled, n_unlabelled)


BATCH_WEIGHTINGS = {
    "examples": lambda n_l, n_u: 1.0,
    "halves": lambda n_l, n_u: n_u / max(n_l, 1),
}


def semi_supervised_objective(model: nn.Module, x_l: Tensor, y_l: Tensor, x_u: Tensor, alpha: float,
                              beta: float = 1.0, samples: int = 1,
                              labelled_weight: float = 1.0,
                              label_weights: str = "per_sample") -> SemiSupervisedObjective:
    """J of eq. 13 per example of the batch: (w sum_l [L(x_l, y_l) + alpha CE] + sum_u U(x_u)) / (B_l + B_u).

    w (labelled_weight, see batch_weights) scales every labelled example's term; 1 counts each example once.
    label_weights: `per_sample` or `averaged` (objectives/label_weighting.py), for U and the CE alike.
    """
    lab = labelled_bound(model, x_l, y_l, samples, beta, label_weights)
    unl = unlabelled_bound(model, x_u, samples, beta, label_weights)
    total = labelled_weight * (-lab.train_bound + alpha * lab.cross_entropy).sum() - unl.train_bound.sum()
    return SemiSupervisedObjective(total / (x_l.shape[0] + x_u.shape[0]), lab, unl)


@torch.inference_mode()
def labelled_log_likelihood(model: nn.Module, x: Tensor, y: Tensor, k: int, sample_chunk: int = 250) -> Tensor:
    """Importance-weighted bound on log p(x, y) with k samples of (a, z), (B,) float64 (cf. LVAE eq. 6)."""
    acc = StreamingLogMeanExp()
    for start in range(0, k, sample_chunk):
        s = min(sample_chunk, k - start)
        out = run_model(model, x, n_samples=s, y=y)
        acc.update(log_weights_xy(out, repeat_samples(x, s)).view(s, x.shape[0]))
    return acc.result()


@torch.inference_mode()
def unlabelled_log_likelihood(model: nn.Module, x: Tensor, k: int, sample_chunk: int = 250) -> Tensor:
    """Importance-weighted bound on log p(x), y summed exactly, (B,) float64.

    Each of the k samples draws a ~ q(a|x) and z_y ~ q(z|a,y,x) for every class y; its weight
    sum_y p(x, y, a, z_y) / (q(a|x) q(z_y|a,y,x)) is an unbiased estimate of p(x), so
    log (1/k) sum_k w_k is a lower bound that rises with k; already at k = 1 it is >= -U(x) (Jensen over y).
    """
    acc = StreamingLogMeanExp()
    for start in range(0, k, sample_chunk):
        s = min(sample_chunk, k - start)
        out = run_model(model, x, n_samples=s, y=None)
        log_w = log_weights_xy(out, repeat_samples(x, out.label.classes * s))
        acc.update(torch.logsumexp(log_w.view(out.label.classes, s, x.shape[0]), dim=0))  # (s, B)
    return acc.result()
