"""Evaluation settings (the `eval:` section of a config)."""

from __future__ import annotations

from dataclasses import dataclass

from vaelab.execution import PRECISIONS, is_device_name

CLASSIFY_INPUTS = ("binarised", "grey")  # what the classifier of a binarised run reads at evaluation


@dataclass(frozen=True)
class EvalSettings:
    iw_samples: int = 5000  # K of L_K (LVAE paper: 5000)
    batch_size: int = 20  # examples per chunk (x sample_chunk = 5000 rows: fastest measured, benchmarks/speed.py)
    sample_chunk: int = 250  # importance samples per chunk: memory ~ batch_size * sample_chunk rows
    bn_batch_size: int = 500  # batch for recomputing batch-norm statistics over the training data
    active_threshold: float = 0.01  # a unit is active when Cov_x E_q[u] exceeds this (LVAE section 4)
    # Aggregate posterior of the top latent (Balancing-ELBO eqs. 12-13): a Gaussian mixture fitted by EM
    aggregate_posterior: bool = False  # evaluate also fits it: KL(mixture || prior) and L_K under the mixture
    aggregate_components: int = 32  # mixture components (paper: 32 for MNIST and Fashion-MNIST)
    aggregate_covariance: str = "full"  # full | diag
    aggregate_fit_on: str = "samples"  # samples (one z ~ q(z|x) per training example) | means (E_q[z])
    aggregate_kl_samples: int = 10000  # Monte Carlo samples of KL(mixture || prior)
    # Sample quality (evaluate --sample-quality)
    quality_samples: int = 10000  # generated images per source (prior, aggregate)
    classifier_dir: str | None = None  # where fd_classifier weights are kept; None: ~/.cache/vaelab/fd_classifier
    classifier_epochs: int = 5  # training epochs of the fd_classifier (trained once per data set)

    classify_samples: int = 10  # semi-supervised: samples of a over which q(y|a,x) is averaged (per-epoch error too)
    classify_inputs: str = "binarised"  # semi-supervised error on binarised inputs | grey (levels; binarised runs only)
    # How the L_K pass runs (vaelab/execution.py): these settings change the speed, never the maths.
    device: str = "auto"  # auto (the GPU when torch sees one, else the CPU) | cpu | cuda | cuda:N
    precision: str = "float32"  # float32 (the default everywhere: a log weight sums hundreds of terms) | bf16 | auto
    compile: bool = False  # torch.compile the L_K chunk
    check_distributions: bool = False  # torch.distributions argument checks (slow; for debugging)

    def __post_init__(self) -> None:
        for name in ("iw_samples", "batch_size", "sample_chunk", "bn_batch_size", "aggregate_kl_samples",
                     "quality_samples", "classifier_epochs", "classify_samples"):
            if getattr(self, name) < 1:
                raise ValueError(f"eval.{name} must be >= 1, got {getattr(self, name)}")
        if self.aggregate_components < 0:
            raise ValueError(f"eval.aggregate_components must be >= 0, got {self.aggregate_components}")
        if self.aggregate_covariance not in ("full", "diag"):
            raise ValueError(f"eval.aggregate_covariance must be full or diag, got {self.aggregate_covariance!r}")
        if self.aggregate_fit_on not in ("samples", "means"):
            raise ValueError(f"eval.aggregate_fit_on must be samples or means, got {self.aggregate_fit_on!r}")
        if not is_device_name(self.device):
            raise ValueError(f"eval.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"eval.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.classify_inputs not in CLASSIFY_INPUTS:
            raise ValueError(f"eval.classify_inputs must be one of {', '.join(CLASSIFY_INPUTS)}, "
                             f"got {self.classify_inputs!r}")
        if self.active_threshold < 0:
            raise ValueError(f"eval.active_threshold must be >= 0, got {self.active_threshold}")
