"""The Fréchet distance between two sets of pictures: how far apart their feature statistics are.

FID (Heusel et al., 2017) fits a Gaussian to the Inception-v3 features of real pictures and
another to those of generated pictures, and reports the Fréchet (2-Wasserstein) distance
between the two Gaussians:

    d² = |mu_1 - mu_2|² + Tr(S_1) + Tr(S_2) - 2 Tr((S_1^½ S_2 S_1^½)^½)

Here the features come from the bundled model's own VAE encoder (no download), so the numbers
are on their own scale: comparable with each other, not with published FIDs. The matrix square
roots use a symmetric eigen-decomposition, which is exact for the symmetric positive
semi-definite matrices that covariances are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from helpers.core.latents import image_to_tensor, latent_distribution


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(mean, covariance)`` of ``features``, an (n, d) array with n >= 2 rows.

    Used by helpers.responsible.frechet (no notebook calls it).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"features must be an (n, d) array with n >= 2, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Return the symmetric square root of a symmetric positive semi-definite ``matrix``.

    Eigen-decompose, clip the tiny negative eigenvalues that rounding leaves to 0, take square
    roots: ``R @ R == matrix`` up to rounding.
    Used by helpers.responsible.frechet (no notebook calls it).
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {m.shape}")
    values, vectors = np.linalg.eigh((m + m.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Return the squared Fréchet distance between Gaussians N(mu1, cov1) and N(mu2, cov2).

    |mu1 - mu2|² + Tr(cov1) + Tr(cov2) - 2 Tr((cov1^½ cov2 cov1^½)^½), the quantity FID reports.
    Zero only for equal Gaussians; symmetric in its two arguments.
    Used in 10_responsible_generation.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, float)), np.atleast_1d(np.asarray(mu2, float))
    cov1, cov2 = np.atleast_2d(np.asarray(cov1, float)), np.atleast_2d(np.asarray(cov2, float))
    d = mu1.shape[0]
    if mu2.shape != (d,) or cov1.shape != (d, d) or cov2.shape != (d, d):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, cov1 {cov1.shape}, "
                         f"mu2 {mu2.shape}, cov2 {cov2.shape}")
    root1 = sqrtm_psd(cov1)
    middle = root1 @ cov2 @ root1
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * cross)
    return max(value, 0.0)


def feature_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Return the Fréchet distance between the Gaussians fitted to two (n, d) feature sets.

    Used in 10_responsible_generation.
    """
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def vae_features(vae: Any, images: Sequence, pool: int = 4, batch: int = 16) -> np.ndarray:
    """Return one feature vector per picture: the VAE encoder's latent mean, average-pooled.

    Each picture is resized to the VAE's own sample size, encoded to its latent mean
    (4 x h x w) and pooled to 4 x ``pool`` x ``pool``, so the features have 4·pool² numbers
    whatever the picture size (64 for the default ``pool=4``).
    Used in 10_responsible_generation.
    """
    if len(images) == 0:
        raise ValueError("vae_features needs at least one picture")
    if pool < 1:
        raise ValueError(f"pool must be at least 1, got {pool!r}")
    side = int(getattr(vae.config, "sample_size", 64))
    rows = []
    for start in range(0, len(images), batch):
        pixels = torch.stack([image_to_tensor(im, side) for im in images[start:start + batch]])
        # Channels-last, the layout these features were first measured in: its convolutions
        # round differently in the last bit, and notebook 10's distances stay as they were.
        pixels = pixels.contiguous(memory_format=torch.channels_last)
        mean, _ = latent_distribution(vae, pixels)
        pooled = torch.nn.functional.adaptive_avg_pool2d(mean.float(), pool)
        rows.append(pooled.flatten(1).cpu().numpy())
    return np.concatenate(rows).astype(np.float64)
