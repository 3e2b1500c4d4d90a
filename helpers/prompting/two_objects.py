"""How a picture answers a two-object prompt: two objects, one blob, one missing; colours bound or swapped.

The Shapes spec's "Two objects" section: a small object at the left anchor (0.28 W) and
one at the right (0.72 W), so a right picture has nothing in the middle columns (both
objects end 0.08 W short of the centre). Read with the reader's palette snapping.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.shapes import COLORS, parse_two_caption
from helpers.shapes.reader import _as_array, _border_mode, component_sizes, snap

PRESENT = 0.01  # a half holds an object when its commonest object colour covers this share of W*W
MIDDLE = 0.05   # one blob when this many pixels per W of the two middle columns are not background
BORDER_SHARE = 0.1  # count_objects: a colour covering this share of the border is background
LAYOUTS = ("two objects", "one blob", "one missing", "none")


def _half_colour(indices: np.ndarray, background: int, width: int) -> str | None:
    counts = np.bincount(indices.ravel(), minlength=len(COLORS))
    counts[background] = 0
    best = int(counts.argmax())
    return COLORS[best] if counts[best] >= PRESENT * width * width else None


def object_mask(image) -> np.ndarray:
    """Return the boolean mask of a Shapes picture's non-background pixels (palette-snapped).

    Used in 07_failure_cases.
    """
    indices = snap(_as_array(image))
    return indices != _border_mode(indices)


def count_objects(image, min_share: float = PRESENT) -> int:
    """Return how many separate objects a picture holds.

    Background is every colour that covers at least a tenth of the picture's border
    (a murky generated background can be two colours; objects do not touch the border);
    an object is a 4-connected region of the other pixels covering at least
    ``min_share`` of the picture (specks are not counted).
    Used in 07_failure_cases.
    """
    indices = snap(_as_array(image))
    border = np.concatenate([indices[0], indices[-1], indices[:, 0], indices[:, -1]])
    share = np.bincount(border, minlength=len(COLORS)) / border.size
    mask = ~np.isin(indices, np.flatnonzero(share >= BORDER_SHARE))
    return sum(size >= min_share * mask.size for size in component_sizes(mask))


def two_object_outcome(prompt: str, image) -> dict[str, object]:
    """Return how ``image`` answers the two-object ``prompt``: layout, colours, background.

    - ``layout``: "two objects" (one in each half, nothing across the middle), "one blob"
      (the object pixels cross the middle columns), "one missing" (a half holds no
      object) or "none".
    - ``colours`` (two objects only, else None): "right" (each half has its own named
      colour), "swapped" (each has the other's) or "wrong".
    - ``background_leak``: the background came out in one of the objects' colours.
    - ``left`` / ``right``: the colour read in each half (None when empty).

    Used in 07_failure_cases.
    """
    named_left, named_right = parse_two_caption(prompt)
    indices = snap(_as_array(image))
    width = indices.shape[1]
    half = width // 2
    background = _border_mode(indices)
    left = _half_colour(indices[:, :half], background, width)
    right = _half_colour(indices[:, half:], background, width)
    middle = (indices[:, half - 1:half + 1] != background).sum()
    if middle >= MIDDLE * width:
        layout = "one blob"
    elif left and right:
        layout = "two objects"
    elif left or right:
        layout = "one missing"
    else:
        layout = "none"
    colours = None
    wanted = (named_left.get("color"), named_right.get("color"))
    if layout == "two objects":
        if (left, right) == wanted:
            colours = "right"
        elif wanted[0] != wanted[1] and (left, right) == wanted[::-1]:
            colours = "swapped"
        else:
            colours = "wrong"
    return {"layout": layout, "colours": colours, "left": left, "right": right,
            "background_leak": COLORS[background] in wanted}


def outcome_shares(prompts: Sequence[str], images: Sequence) -> dict[str, float]:
    """Return the share of pictures in each two-object outcome (layouts, colours, background leak).

    Keys: the four layouts, "colours right" and "colours swapped" (both out of all
    pictures) and "background leak".
    Used in 07_failure_cases, 11_flow_matching.
    """
    if len(prompts) != len(images):
        raise ValueError(f"{len(prompts)} prompts but {len(images)} images")
    if not prompts:
        raise ValueError("outcome_shares needs at least one prompt")
    outcomes = [two_object_outcome(p, im) for p, im in zip(prompts, images, strict=True)]
    shares = {layout: float(np.mean([o["layout"] == layout for o in outcomes])) for layout in LAYOUTS}
    shares["colours right"] = float(np.mean([o["colours"] == "right" for o in outcomes]))
    shares["colours swapped"] = float(np.mean([o["colours"] == "swapped" for o in outcomes]))
    shares["background leak"] = float(np.mean([o["background_leak"] for o in outcomes]))
    return shares
