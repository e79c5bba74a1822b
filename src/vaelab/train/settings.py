"""Training settings (the `train:` section of a config)."""

from __future__ import annotations

from dataclasses import dataclass

from vaelab.execution import PRECISIONS, is_device_name

UNLABELLED_ORDERS = ("shuffled", "sorted")  # the semi-supervised batches: a fresh permutation, or sorted by class


@dataclass(frozen=True)
class TrainSettings:
    """Defaults follow the LVAE paper (section 3): Adam, lr 1e-3, batch 256, N_t = 200."""

    epochs: int = 10  # epochs to train; an epoch is one pass over the training set (semi-supervised: the unlabelled)
    batch_size: int = 256  # examples per step (semi-supervised: labelled + unlabelled)
    lr: float = 1e-3  # Adam's learning rate
    warmup_epochs: int = 0  # N_t of eq. 20; 0 = no warm-up
    eq_samples: int = 1  # Monte Carlo samples per example
    iw_samples: int = 1  # importance samples per example (L_K training when > 1)
    grad_clip: float = 0.0  # max gradient norm; 0 = no clipping
    grad_clip_value: float = 0.0  # after the norm clip, clip every gradient entry to [-v, v]; 0 = off
    weight_prior: float = 0.0  # lambda: loss += lambda/2 sum W^2 over weight matrices, before clipping; 0 = off
    lr_decay: float = 1.0  # multiply lr by this ...
    lr_decay_every: int = 0  # ... every this many epochs (0 = never); paper fine-tuning: 0.75 every 200
    seed: int = 0  # seeds weights, validation split, data order, binarisation, labelled subset, latent noise
    max_bad_steps: int = 20  # consecutive non-finite steps before the run stops
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    # How the arithmetic runs (vaelab/execution.py): these settings change the speed, never the maths.
    device: str = "auto"  # auto (the GPU when torch sees one, else the CPU) | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (float32 everywhere until bf16 is shown to match) | float32 | bf16
    compile: bool = False  # torch.compile the objective: a minute or two of compilation, then faster steps
    fused_adam: bool = True  # torch's fused Adam kernel
    check_distributions: bool = False  # torch.distributions argument checks at every step (slow; for debugging)

    progress: bool = True  # a progress bar over the training steps
    # Two-stage training of model.observation gaussian_input (Balancing-ELBO Algorithm 1).
    variance_switch_patience: int = 3  # stage one ends when the epoch's training ELBO has not risen by more than
                                       # tolerance x |best so far| for this many epochs in a row ...
    variance_switch_tolerance: float = 1e-3  # ... the tolerance of that plateau test
    variance_switch_max_epochs: int = 0  # ... or after this many epochs (0: no cap)
    # Semi-supervised families (m2, adgm, sdgm).
    classification_weight: float = 0.1  # semi-supervised: beta of alpha = beta (N_l + N_u) / N_l (ADGM eq. 12)
    labelled_batch: int = 0  # semi-supervised: labelled examples per batch (0: half of batch_size)
    batch_weighting: str = "examples"  # semi-supervised: examples | halves (objectives.semisupervised.batch_weights)
    label_weights: str = "per_sample"  # semi-supervised: per_sample | averaged | authors (objectives/label_weighting)
    unlabelled_order: str = "shuffled"  # semi-supervised: shuffled every epoch | sorted (by class, fixed; an ablation)
    freeze: tuple[str, ...] = ()  # submodules kept at their initial weights, e.g. [inference.q_a, inference.q_a_head]
    checkpoint_every_steps: int = 0  # also write checkpoint.pt inside an epoch every this many steps (0: at epoch ends only)

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 0,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "warmup_epochs": self.warmup_epochs >= 0,
            "eq_samples": self.eq_samples >= 1,
            "iw_samples": self.iw_samples >= 1,
            "grad_clip": self.grad_clip >= 0,
            "grad_clip_value": self.grad_clip_value >= 0,
            "weight_prior": self.weight_prior >= 0,
            "lr_decay": 0 < self.lr_decay <= 1,
            "lr_decay_every": self.lr_decay_every >= 0,
            "max_bad_steps": self.max_bad_steps >= 1,
            "seed": self.seed >= 0,
            "threads": self.threads >= 0,
            "variance_switch_patience": self.variance_switch_patience >= 1,
            "variance_switch_tolerance": self.variance_switch_tolerance >= 0,
            "variance_switch_max_epochs": self.variance_switch_max_epochs >= 0,
            "classification_weight": self.classification_weight >= 0,
            "labelled_batch": 0 <= self.labelled_batch < self.batch_size,
            "checkpoint_every_steps": self.checkpoint_every_steps >= 0,
            "device": is_device_name(self.device),
            "precision": self.precision in PRECISIONS,
        }
        if self.unlabelled_order not in UNLABELLED_ORDERS:
            raise ValueError(f"train.unlabelled_order must be one of {', '.join(UNLABELLED_ORDERS)}, "
                             f"got {self.unlabelled_order!r}")
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"train.{bad[0]} = {getattr(self, bad[0])!r} is impossible; see docs/reference/config.md")
