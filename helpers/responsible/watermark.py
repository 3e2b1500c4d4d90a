"""Invisible watermarks (the ``invisible-watermark`` package): embed bits, read them back, set a threshold.

It is the library Stable Diffusion's reference scripts used to mark their outputs, and the one
diffusers' SDXL pipelines call (``StableDiffusionXLWatermarker``, a 48-bit message with the
``dwtDct`` method). It runs on a CPU with no model download. Its frequency methods hide each
bit in 4x4 blocks of a wavelet (DWT) band of the U colour channel, repeated over the picture:

- ``dwtDct``: quantises the largest coefficient of each block;
- ``dwtDctSvd``: quantises the largest singular value of each block's DCT (about 3x slower).

The library refuses pictures smaller than 256 x 256 (both to embed and to read), so smaller
pictures are enlarged to 256 px (Lanczos) before embedding; the watermark lives in the
enlarged picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

#: The 48-bit message diffusers' SDXL watermarker embeds (from Stability AI's reference code).
SDXL_MESSAGE = 0b101100111110110010010000011110111011000110011110
WATERMARK_BITS: tuple[int, ...] = tuple(int(bit) for bit in bin(SDXL_MESSAGE)[2:])
METHODS: tuple[str, ...] = ("dwtDct", "dwtDctSvd")
MIN_SIDE = 256  # imwatermark refuses anything smaller (rows * columns < 256 * 256)

_HOW_TO_INSTALL = (
    "invisible watermarks need the invisible-watermark package: pip install invisible-watermark "
    "(it is in the workbook's dependencies; re-run `pip install -e .`). If importing cv2 fails "
    "with 'libGL.so.1: cannot open shared object file' on a headless server, replace OpenCV by "
    "its headless build: pip uninstall -y opencv-python && pip install opencv-python-headless "
    "(or install the system library: apt-get install libgl1)."
)


def _imwatermark():
    try:
        import imwatermark
    except ImportError as error:
        raise ImportError(f"{_HOW_TO_INSTALL} ({error})") from error
    return imwatermark


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown watermark method {method!r}; choose one of {', '.join(METHODS)}")


def _check_bits(bits: Sequence[int]) -> list[int]:
    values = [int(b) for b in bits]
    if not values or any(b not in (0, 1) for b in values):
        raise ValueError("bits must be a non-empty sequence of 0s and 1s")
    return values


def _bgr(image: Image.Image) -> np.ndarray:
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a PIL image, got {type(image).__name__}")
    width, height = image.size
    if width * height < MIN_SIDE * MIN_SIDE:
        raise ValueError(f"the picture is {width}x{height}; imwatermark needs at least "
                         f"{MIN_SIDE}x{MIN_SIDE} pixels (enlarge it first, e.g. with enlarge())")
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def enlarge(image: Image.Image, side: int = MIN_SIDE) -> Image.Image:
    """Return ``image`` resized (Lanczos) so that its shorter side is at least ``side`` pixels.

    A picture already big enough comes back unchanged (as RGB).
    Used in 10_responsible_generation.
    """
    picture = image.convert("RGB")
    width, height = picture.size
    if min(width, height) >= side:
        return picture
    scale = side / min(width, height)
    return picture.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)


def embed_watermark(image: Image.Image, bits: Sequence[int] = WATERMARK_BITS,
                    method: str = "dwtDctSvd") -> Image.Image:
    """Return a copy of ``image`` (at least 256x256) carrying ``bits`` invisibly.

    Used in 10_responsible_generation.
    """
    _check_method(method)
    values = _check_bits(bits)
    module = _imwatermark()
    encoder = module.WatermarkEncoder()
    encoder.set_watermark("bits", values)
    marked = encoder.encode(_bgr(image), method)
    return Image.fromarray(np.clip(np.rint(marked[:, :, ::-1]), 0, 255).astype(np.uint8))


def read_watermark(image: Image.Image, n_bits: int = len(WATERMARK_BITS),
                   method: str = "dwtDctSvd") -> list[int]:
    """Return the ``n_bits`` bits read from ``image`` (at least 256x256) with ``method``.

    Any picture gives *some* bits: an unmarked one reads about half of them "right" by chance.
    Used in 10_responsible_generation.
    """
    _check_method(method)
    if n_bits < 1:
        raise ValueError(f"n_bits must be at least 1, got {n_bits!r}")
    decoder = _imwatermark().WatermarkDecoder("bits", n_bits)
    return [int(b) for b in decoder.decode(_bgr(image), method)]


def bit_accuracy(read: Sequence[int], bits: Sequence[int] = WATERMARK_BITS) -> float:
    """Return the share of ``read`` bits equal to ``bits`` (0.5 is chance, 1.0 every bit).

    Used in 10_responsible_generation.
    """
    read, bits = _check_bits(read), _check_bits(bits)
    if len(read) != len(bits):
        raise ValueError(f"{len(read)} bits read but {len(bits)} expected")
    return float(np.mean(np.asarray(read) == np.asarray(bits)))


def detection_threshold(n_bits: int = len(WATERMARK_BITS), false_alarm: float = 1e-6) -> int:
    """Return the fewest matching bits that declare "watermarked" with at most ``false_alarm``.

    An unmarked picture matches each bit with probability 1/2, so the number of matches is
    Binomial(n_bits, 1/2); the threshold is the smallest k with P(matches >= k) <= false_alarm.
    Used in 10_responsible_generation.
    """
    if n_bits < 1 or not 0 < false_alarm < 1:
        raise ValueError("need n_bits >= 1 and 0 < false_alarm < 1")
    from math import comb

    tail = 0.0
    for k in range(n_bits, -1, -1):
        tail += comb(n_bits, k) / 2**n_bits
        if tail > false_alarm:
            return k + 1
    return 0
