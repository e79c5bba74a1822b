"""Training settings (the `train:` section of a config)."""

from __future__ import annotations

from dataclasses import dataclass

from vaelab.execution import PRECISIONS, is_device_name


@dataclass(frozen=True)
class TrainSettings:
    """Defaults follow the LVAE paper (section 3): Adam, lr 1e-3, batch 256, N_t = 200."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    warmup_epochs: int = 0  # N_t of eq. 20; 0 = no warm-up
    eq_samples: int = 1  # Monte Carlo samples per example
    iw_samples: int = 1  # importance samples per example (L_K training when > 1)
    grad_clip: float = 0.0  # max gradient norm; 0 = no clipping
    lr_decay: float = 1.0  # multiply lr by this ...
    lr_decay_every: int = 0  # ... every this many epochs (0 = never); paper fine-tuning: 0.75 every 200
    seed: int = 0
    max_bad_steps: int = 20  # consecutive non-finite steps before the run stops
    threads: int = 0  # torch intra-op threads; 0 = torch's default
    # How the arithmetic runs (vaelab/execution.py; the maths is the same): device auto (GPU if any) | cpu |
    # cuda[:N]; precision auto (bf16 autocast on a GPU, float32 on the CPU) | float32 | bf16; compile the
    # objective with torch.compile (a minute or two of compilation, then faster steps); torch's fused Adam;
    # torch.distributions argument checks at every step (slow; for debugging).
    device: str = "auto"
    precision: str = "auto"
    compile: bool = False
    fused_adam: bool = True
    check_distributions: bool = False
    progress: bool = True
    # Two-stage training of model.observation gaussian_input (Balancing-ELBO Algorithm 1): stage one ends when
    # the epoch's training ELBO has not risen by more than tolerance x |best| for `patience` epochs in a row,
    # or after variance_switch_max_epochs epochs (0: no cap).
    variance_switch_patience: int = 3
    variance_switch_tolerance: float = 1e-3
    variance_switch_max_epochs: int = 0
    classification_weight: float = 0.1  # semi-supervised: beta of alpha = beta (N_l + N_u) / N_l (ADGM eq. 12)
    labelled_batch: int = 0  # semi-supervised: labelled examples per batch (0: half of batch_size)
    batch_weighting: str = "examples"  # semi-supervised: examples | halves (objectives.semisupervised.batch_weights)
    label_weights: str = "per_sample"  # semi-supervised: per_sample | averaged (objectives/label_weighting.py)
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
            "lr_decay": 0 < self.lr_decay <= 1,
            "lr_decay_every": self.lr_decay_every >= 0,
            "max_bad_steps": self.max_bad_steps >= 1,
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
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"train.{bad[0]} = {getattr(self, bad[0])!r} is impossible; see the README's config table")
