"""Hands with countable fingers, drawn in the Shapes world's style, and a reader that counts them.

07_failure_cases shows the real Stable Diffusion's best-known failure, hands with the wrong
number of fingers, on a GPU. This module gives it an offline counterpart that can be measured:
a Shapes-world "hand" is a palm with 1 to 5 upright fingers, and ``read_hand`` counts the
fingers of any picture (a rendered one or one the bundled model drew) without learning.
Nothing here changes how the Shapes world's own pictures render or read; ``read_hand`` follows the
Shapes reader's rules except where the pictures the model draws need otherwise (its docstring).

Geometry (fractions of the canvas side W, like the spec's): the palm is the rectangle
x 0.12-0.88, y 0.55-0.85; the fingers are upright bars FINGER_WIDTH wide, from y 0.18 down
to the palm, FINGER_PITCH apart from centre to centre, the group centred on the palm. At
64 px a finger is 5 px wide and the gap between two fingers 5 px, a little more than half
of one latent cell of the bundled model (8 px).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from helpers.shapes import COLORS, PALETTE
from helpers.shapes.reader import background_and_object, component_sizes, snap
from helpers.shapes.world import supersampled

HAND = "hand"
FINGER_COUNTS: tuple[int, ...] = (1, 2, 3, 4, 5)
NUMBER_WORDS: dict[int, str] = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
PALM = (0.12, 0.55, 0.88, 0.85)  # x0, y0, x1, y1
FINGER_TOP = 0.18
FINGER_WIDTH = 0.078
FINGER_PITCH = 0.156
# Reading: a row belongs to the palm when the object covers at least PALM_ROW of W in it
# (wider than any Shapes object, 0.52 W at most); the fingers are the object's 4-connected
# pieces above the palm, skipping FINGER_GAP_ROWS of W just above it (where a blurred picture
# joins neighbouring fingers) and pieces smaller than MIN_FINGER of W² (specks).
PALM_ROW = 0.60
MIN_PALM_ROWS = 0.10
FINGER_GAP_ROWS = 0.05
MIN_FINGER = 0.004


@dataclass(frozen=True)
class Hand:
    """One hand on a background: its number of fingers, its colour and the background colour.

    Used in 07_failure_cases.
    """

    fingers: int
    color: str
    background: str

    def __post_init__(self) -> None:
        if self.fingers not in FINGER_COUNTS:
            raise ValueError(f"fingers must be one of {FINGER_COUNTS}, got {self.fingers!r}.")
        for name in (self.color, self.background):
            if name not in PALETTE:
                raise ValueError(f"unknown colour {name!r}; the palette is {', '.join(COLORS)}.")
        if self.color == self.background:
            raise ValueError(f"the hand's colour and the background are both {self.color!r}.")


def all_hands() -> list[Hand]:
    """Return every hand of the world: 5 finger counts x 8 colours x 7 backgrounds (280).

    Used in 07_failure_cases.
    """
    return [Hand(n, color, background) for n in FINGER_COUNTS for color in COLORS
            for background in COLORS if background != color]


def finger_spans(fingers: int) -> list[tuple[float, float]]:
    """Return the (left, right) edges of each finger, as fractions of W.

    Used by helpers.shapes.hands (no notebook calls it).
    """
    centre = (PALM[0] + PALM[2]) / 2
    first = centre - (fingers - 1) * FINGER_PITCH / 2
    return [(first + k * FINGER_PITCH - FINGER_WIDTH / 2, first + k * FINGER_PITCH + FINGER_WIDTH / 2)
            for k in range(fingers)]


def render_hand(item: Hand, size: int = 64) -> Image.Image:
    """Return the RGB picture of one hand, rendered at 4x and Lanczos-downsampled.

    Used in 07_failure_cases.
    """
    colour = PALETTE[item.color]

    def paint(pen: ImageDraw.ImageDraw, big: int) -> None:
        pen.rectangle([PALM[0] * big, PALM[1] * big, PALM[2] * big - 1, PALM[3] * big - 1], fill=colour)
        for left, right in finger_spans(item.fingers):
            pen.rectangle([left * big, FINGER_TOP * big, right * big - 1, PALM[1] * big], fill=colour)

    return supersampled(size, item.background, paint)


def hand_caption(item: Hand, background: bool = True) -> str:
    """Return the caption of ``item``: ``a red hand with three fingers on a blue background``.

    ``background=False`` leaves the background out. One finger is "one finger".
    Used in 07_failure_cases.
    """
    noun = "finger" if item.fingers == 1 else "fingers"
    text = f"a {item.color} {HAND} with {NUMBER_WORDS[item.fingers]} {noun}"
    return f"{text} on a {item.background} background" if background else text


def read_hand(image) -> dict[str, object]:
    """Return what a picture shows: hand colour, background, whether a palm is there, finger count.

    Like the Shapes reader: snap each pixel to the nearest palette colour; the background is the
    commonest colour on the border and the hand the commonest other colour (a finger the model
    draws in a neighbouring shade, orange on a yellow hand, is not part of it).
    The palm is the longest run of rows in which the hand covers at least 0.60 W (at least
    0.10 W of rows; else ``hand`` is False and ``fingers`` 0). The fingers are the hand's 4-connected pieces above the palm, leaving out the rows just
    above the palm and specks smaller than 0.004 W².
    Used in 07_failure_cases.
    """
    indices = snap(image)
    side = indices.shape[1]
    background, obj = background_and_object(indices)
    found = {"color": None, "background": COLORS[background], "hand": False, "fingers": 0}
    if obj is None:
        return found
    mask = indices == obj
    found["color"] = COLORS[obj]
    wide = mask.sum(axis=1) >= PALM_ROW * side
    best, start = (0, 0), None
    for y, row_is_wide in enumerate(list(wide) + [False]):
        if row_is_wide and start is None:
            start = y
        elif not row_is_wide and start is not None:
            best = max(best, (y - start, -start))
            start = None
    rows, palm_top = best[0], -best[1]
    if rows < MIN_PALM_ROWS * side:
        return found
    found["hand"] = True
    above = mask[:max(palm_top - round(FINGER_GAP_ROWS * side), 0)]
    found["fingers"] = sum(size >= MIN_FINGER * side * side for size in component_sizes(above))
    return found


def hand_scores(items, images) -> dict[str, float]:
    """Return the shares of pictures with the hand's colour, background, a palm, and the finger count right.

    ``all``: colour, background, palm and finger count all right. ``finger error``: the mean of
    |counted - asked| over the pictures that have a palm.
    Used in 07_failure_cases.
    """
    if len(items) != len(images):
        raise ValueError(f"{len(items)} hands asked for but {len(images)} pictures.")
    if not items:
        raise ValueError("no pictures to score.")
    reads = [read_hand(image) for image in images]
    rows = [{"colour": r["color"] == it.color, "background": r["background"] == it.background,
             "hand": bool(r["hand"]), "fingers": bool(r["hand"]) and r["fingers"] == it.fingers}
            for it, r in zip(items, reads, strict=True)]
    scores = {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
    scores["all"] = float(np.mean([all(row.values()) for row in rows]))
    errors = [abs(r["fingers"] - it.fingers) for it, r in zip(items, reads, strict=True) if r["hand"]]
    scores["finger error"] = float(np.mean(errors)) if errors else float("nan")
    return scores
