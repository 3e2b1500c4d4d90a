"""Everyday picture edits (JPEG, resizing, noise, cropping): what a picture goes through online.

A detector or a watermark that works only on untouched pictures is of little use once a picture
is shared: chat apps re-compress it, sites resize it, screenshots crop it. Each edit here takes
a PIL picture and returns a new RGB PIL picture; none changes its input.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def _rgb(image: Image.Image) -> Image.Image:
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image, got {type(image).__name__}")
    return image.convert("RGB")


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Return ``image`` saved as a JPEG at ``quality`` (1-95) and read back.

    JPEG throws away fine detail block by block (8x8 DCT, coarser at lower quality), the most
    common edit a shared picture goes through.
    Used in 10_responsible_generation.
    """
    if not isinstance(quality, (int, np.integer)) or isinstance(quality, bool) or not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be an integer from 1 to 95, got {quality!r}")
    buffer = io.BytesIO()
    _rgb(image).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def resize_round_trip(image: Image.Image, scale: float) -> Image.Image:
    """Return ``image`` shrunk (or grown) by ``scale`` and resized back to its own size (bilinear).

    The size stays the same, so the same detector or decoder can read it; the detail lost on
    the way down stays lost.
    Used in 10_responsible_generation.
    """
    if not 0.05 <= float(scale) <= 4:
        raise ValueError(f"scale must be between 0.05 and 4, got {scale!r}")
    picture = _rgb(image)
    width, height = picture.size
    small = picture.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                           Image.Resampling.BILINEAR)
    return small.resize((width, height), Image.Resampling.BILINEAR)


def add_noise(image: Image.Image, sigma: float, seed: int = 0) -> Image.Image:
    """Return ``image`` plus Gaussian noise of standard deviation ``sigma`` (in 0-255 units).

    Used in 10_responsible_generation.
    """
    if float(sigma) < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    pixels = np.asarray(_rgb(image), dtype=np.float32)
    noise = np.random.default_rng(seed).normal(0.0, float(sigma), pixels.shape)
    return Image.fromarray(np.clip(np.rint(pixels + noise), 0, 255).astype(np.uint8))


def center_crop(image: Image.Image, keep: float, resize_back: bool = False) -> Image.Image:
    """Return the central ``keep`` share of ``image``'s width and height (optionally resized back).

    Used in 10_responsible_generation.
    """
    if not 0.1 <= float(keep) <= 1:
        raise ValueError(f"keep must be between 0.1 and 1, got {keep!r}")
    picture = _rgb(image)
    width, height = picture.size
    w, h = max(1, round(width * keep)), max(1, round(height * keep))
    left, top = (width - w) // 2, (height - h) // 2
    cropped = picture.crop((left, top, left + w, top + h))
    return cropped.resize((width, height), Image.Resampling.BILINEAR) if resize_back else cropped


def standard_edits(jpeg_qualities=(90, 70, 50, 30), scales=(0.75, 0.5),
                   noise_sigmas=(4.0, 8.0, 16.0)) -> dict:
    """Return ``{name: edit}`` for an edit sweep: "none", JPEG qualities, resize scales, noise levels.

    Used in 10_responsible_generation.
    """
    edits = {"none": lambda im: _rgb(im)}
    for q in jpeg_qualities:
        edits[f"JPEG q{q}"] = lambda im, q=q: jpeg(im, q)
    for s in scales:
        edits[f"resize x{s:g}"] = lambda im, s=s: resize_round_trip(im, s)
    for sigma in noise_sigmas:
        edits[f"noise s{sigma:g}"] = lambda im, sigma=sigma: add_noise(im, sigma, seed=0)
    return edits
