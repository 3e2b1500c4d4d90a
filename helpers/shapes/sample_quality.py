"""Whether a generated picture is one clean Shapes object: a yes/no test and the share over a batch.

The Shapes reader (``helpers.shapes.reader``) reads attributes from any picture; this module asks the
question before that one: does the picture look like the Shapes world at all, i.e. one flat
background colour and one solid object of one palette colour, with a plausible size and a
shape-like fill of its bounding box? Every rendered Shapes picture at 32 px or more passes;
noise, blends of two pictures and two-object pictures fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.shapes import COLORS
from helpers.shapes.reader import (
    _PALETTE_ARRAY,
    FILL_RATIOS,
    _as_array,
    _border_mode,
    _fill_ratio,
    largest_component_share,
    snap,
)

#: Share of pixels that must snap to the background or the object colour (renders: >= 0.93).
MIN_TWO_COLOUR_SHARE = 0.88
#: Share of the object's pixels that must lie in its largest 4-connected piece.
MIN_COMPONENT_SHARE = 0.95
#: Object area as a share of the picture (renders: 0.03 to 0.31).
AREA_RANGE = (0.015, 0.40)
#: Largest distance of the bounding-box fill ratio from a triangle, circle or square.
MAX_FILL_ERROR = 0.12
#: Largest share of pixels of a third colour away from the object's edge (a second object).
MAX_STRAY_SHARE = 0.01
#: Largest median RGB distance from a pixel to its palette colour (flat colour, not noise).
MAX_MEDIAN_DISTANCE = 20.0


def _dilate(mask: np.ndarray) -> np.ndarray:
    """Return ``mask`` grown by one pixel in all eight directions."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    grown = np.zeros_like(mask)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            grown |= padded[dy:dy + h, dx:dx + w]
    return grown


def clean_shape_report(image) -> dict[str, float | bool]:
    """Return the numbers behind ``is_clean_shape`` for one picture, and the verdict ``clean``.

    Keys: two_colour_share, stray_share, median_distance, component_share, area, fill_error,
    single_shape (one solid object of a plausible size and shape on one background, whatever
    the exact colours) and clean (single_shape, and the colours are the palette's own). A stray pixel snaps to neither colour and does not touch the object (edge pixels
    of an anti-aliased object often snap to a third colour; they touch it).
    Used by helpers.shapes.sample_quality (no notebook calls it).
    """
    pixels = _as_array(image)
    indices = snap(pixels)
    background = _border_mode(indices)
    counts = np.bincount(indices.ravel(), minlength=len(COLORS))
    others = counts.copy()
    others[background] = 0
    distance = np.linalg.norm(pixels.astype(np.float32) - _PALETTE_ARRAY[indices], axis=-1)
    report: dict[str, float | bool] = {
        "two_colour_share": float(counts[background] / indices.size),
        "stray_share": 1.0,
        "median_distance": float(np.median(distance)),
        "component_share": 0.0,
        "area": 0.0,
        "fill_error": 1.0,
        "single_shape": False,
        "clean": False,
    }
    if others.sum() == 0:
        return report
    obj = int(others.argmax())
    mask = indices == obj
    report["two_colour_share"] = float((counts[background] + counts[obj]) / indices.size)
    near = _dilate(mask)
    stray = (indices != background) & ~near
    report["stray_share"] = float(stray.sum() / indices.size)
    report["component_share"] = largest_component_share(mask)[1]
    report["area"] = float(counts[obj] / indices.size)
    ys, xs = np.nonzero(mask)
    box = (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1)
    fill = _fill_ratio(pixels, indices, obj, background, box)
    report["fill_error"] = float(min(abs(fill - r) for r in FILL_RATIOS.values()))
    report["single_shape"] = bool(
        report["two_colour_share"] >= MIN_TWO_COLOUR_SHARE
        and report["stray_share"] <= MAX_STRAY_SHARE
        and report["component_share"] >= MIN_COMPONENT_SHARE
        and AREA_RANGE[0] <= report["area"] <= AREA_RANGE[1]
        and report["fill_error"] <= MAX_FILL_ERROR
    )
    report["clean"] = report["single_shape"] and report["median_distance"] <= MAX_MEDIAN_DISTANCE
    return report


def is_clean_shape(image) -> bool:
    """Return True when ``image`` reads as one clean Shapes object on a flat background.

    Used by helpers.shapes.sample_quality (no notebook calls it).
    """
    return bool(clean_shape_report(image)["clean"])


def single_shape_share(images: Sequence) -> float:
    """Return the share of ``images`` that hold one solid object on one background (any tint).

    The looser half of ``clean_share``: the structure is right even if the colours are off
    the palette (a washed-out background, say).
    Used in 01_gan_vae_recap, 03_reverse_diffusion, 11_flow_matching.
    """
    if len(images) == 0:
        raise ValueError("single_shape_share needs at least one picture")
    return float(np.mean([clean_shape_report(image)["single_shape"] for image in images]))


def clean_share(images: Sequence) -> float:
    """Return the share of ``images`` (PIL pictures or HxWx3 uint8 arrays) that are clean shapes.

    Used in 03_reverse_diffusion, 11_flow_matching.
    """
    if len(images) == 0:
        raise ValueError("clean_share needs at least one picture")
    return float(np.mean([is_clean_shape(image) for image in images]))
