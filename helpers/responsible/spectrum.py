"""Frequency spectra of pictures: how much of a picture's variation is coarse and how much is fine.

The 2-D Fourier transform splits a picture into waves; its magnitude at a frequency says how
strong that wave is. Flat colours with sharp edges and a generator's fine texture leave
different amounts of energy at high frequencies, which is where detectors look.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def log_spectrum(images: Sequence) -> np.ndarray:
    """Return the mean log-magnitude spectrum (H, W) of grey versions of ``images``, centred.

    Each picture's mean is removed first (the constant term would dwarf the rest); the zero
    frequency is moved to the centre (``np.fft.fftshift``).
    Used in 10_responsible_generation.
    """
    if len(images) == 0:
        raise ValueError("need at least one picture")
    spectra = []
    for image in images:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
        magnitude = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean())))
        spectra.append(np.log1p(magnitude))
    if len({s.shape for s in spectra}) != 1:
        raise ValueError("pictures must share one size")
    return np.mean(spectra, axis=0)


def radial_profile(spectrum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(frequency, mean)``: a centred spectrum averaged over rings of equal frequency.

    ``frequency`` is in cycles per picture side, from 0 up to half the side (the finest
    wave a picture can hold).
    Used in 10_responsible_generation.
    """
    s = np.asarray(spectrum, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != s.shape[1]:
        raise ValueError(f"expected a square spectrum, got shape {s.shape}")
    n = s.shape[0]
    yy, xx = np.indices(s.shape)
    radius = np.rint(np.hypot(yy - n // 2, xx - n // 2)).astype(int)
    keep = radius <= n // 2
    sums = np.bincount(radius[keep], weights=s[keep])
    counts = np.bincount(radius[keep])
    return np.arange(len(sums)), sums / np.maximum(counts, 1)
