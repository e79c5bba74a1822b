"""The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (Heusel et al. 2017).

d^2 = |m1 - m2|^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}). The trace of the matrix square root is computed as
Tr((A S2 A)^{1/2}) with A = S1^{1/2}: A S2 A is symmetric positive semi-definite and similar to S1 S2, so its
eigenvalues are real and non-negative (clipped at 0 against round-off) and no complex sqrtm is needed.
With Inception pool features this is the FID; with vaelab's own classifier it is `fd_classifier`.
"""

from __future__ import annotations

import numpy as np


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F) of features (N, F), in float64."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be (N, F) with N >= 2, got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(s)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    """Fréchet distance between N(m1, s1) and N(m2, s2); 0 for identical Gaussians, |m1 - m2|^2 for a shift."""
    a = _sqrt_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(a @ s2 @ a), 0.0, None)).sum()
    return float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2.0 * cross)


def frechet_distance_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussian summaries of two feature sets (N, F) and (M, F)."""
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))
