"""A shape the bundled model has never seen: the hexagon, drawn in the Shapes world's style.

09_editing_and_personalization teaches the mini model this new shape (textual inversion and
LoRA), so it needs hexagon pictures and a way to tell a hexagon from the three known shapes.
Nothing here changes how circles, squares and triangles render (``helpers.shapes``) or how
``helpers.shapes.reader`` reads them.

Geometry (fractions of the canvas side W, like the spec's): a regular hexagon with a corner
at the top and one at the bottom, circumradius r (0.14 small, 0.26 large: the spec's sizes),
centred on the position's anchor. Its bounding box is 2r tall and sqrt(3)·r wide, so the
box's height/width ratio is 1.155 where every known shape has 1.0, and it fills 0.75 of
its box (a circle 0.785, a square 1.0, a triangle 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from helpers.shapes import COLORS, PALETTE, POSITIONS, SIZES, Shape
from helpers.shapes.reader import background_and_object, read, snap
from helpers.shapes.world import supersampled

HEXAGON = "hexagon"
SHAPES_WITH_HEXAGON: tuple[str, ...] = ("circle", "square", "triangle", HEXAGON)
HEXAGON_FILL = 0.75
HEXAGON_ASPECT = 2 / math.sqrt(3)  # box height / width of a corner-up hexagon: 1.155
# A hexagon is read when the object fills 0.62-0.88 of its box (a circle's 0.785 and a
# hexagon's 0.75 both fall inside) and its box is at least ASPECT_THRESHOLD times taller
# than wide. Every known shape has ratio 1.0; the mini VAE rounds a large hexagon's
# corners to about 1.07, so the threshold sits between the two (see the tests).
FILL_RANGE = (0.62, 0.88)
ASPECT_THRESHOLD = 1.035


@dataclass(frozen=True)
class Hexagon:
    """One hexagon on a background: size, colour, position and background, as for a Shape.

    Used in 09_editing_and_personalization.
    """

    size: str
    color: str
    position: str
    background: str

    def __post_init__(self) -> None:
        # The same rules as one-object pictures: a circle with these attributes validates them.
        Shape("circle", self.size, self.color, self.position, self.background)

    def as_dict(self) -> dict[str, str]:
        """Return the attributes as a plain dict, with shape "hexagon"."""
        return {"shape": HEXAGON, "size": self.size, "color": self.color,
                "position": self.position, "background": self.background}


def hexagon_corners(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Return the six corners of a corner-up regular hexagon of circumradius ``r``.

    Used by helpers.shapes.hexagons (no notebook calls it).
    """
    return [(cx + r * math.cos(math.radians(90 + 60 * k)), cy - r * math.sin(math.radians(90 + 60 * k)))
            for k in range(6)]


def render_hexagon(item: Hexagon, size: int = 64) -> Image.Image:
    """Return the RGB picture of one hexagon, rendered at 4x and Lanczos-downsampled.

    Used in 09_editing_and_personalization.
    """
    def paint(pen: ImageDraw.ImageDraw, big: int) -> None:
        cx, cy = (v * big for v in POSITIONS[item.position])
        pen.polygon(hexagon_corners(cx, cy, SIZES[item.size] * big), fill=PALETTE[item.color])

    return supersampled(size, item.background, paint)


def hexagon_caption(item, word: str = HEXAGON, keep: tuple[str, ...] | None = None) -> str:
    """Return the Shapes-grammar caption of ``item`` with ``word`` where the shape goes.

    ``item`` is a ``Hexagon`` or any object with size, color, position and background (a
    ``helpers.shapes.Shape``, whose own shape name is then replaced by ``word``). ``keep`` names the optional attributes to mention (size, color, position, background);
    ``None`` keeps all of them.
    Used in 09_editing_and_personalization.
    """
    keep = ("size", "color", "position", "background") if keep is None else tuple(keep)
    words = ["a"]
    words += [item.size] if "size" in keep else []
    words += [item.color] if "color" in keep else []
    words.append(word)
    words += ["at", "the", item.position] if "position" in keep else []
    words += ["on", "a", item.background, "background"] if "background" in keep else []
    return " ".join(words)


def _coverage(pixels: np.ndarray, background: int, obj: int) -> np.ndarray:
    """Return each pixel's share of object colour, from its place between background and object."""
    bg = np.array(PALETTE[COLORS[background]], dtype=np.float32)
    fg = np.array(PALETTE[COLORS[obj]], dtype=np.float32)
    direction = fg - bg
    share = (pixels.astype(np.float32) - bg) @ direction / float(direction @ direction)
    return np.clip(share, 0.0, 1.0)


def shape_features(image) -> dict[str, float] | None:
    """Return the object's fill ratio and box height/width ratio, or None if there is no object.

    Like the reader: snap to the palette, background = commonest border colour, object =
    commonest other colour. Each pixel counts by how far it lies from the background colour
    towards the object colour (sub-pixel edges), within one pixel around the object's box.
    Used in 09_editing_and_personalization.
    """
    pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
    indices = snap(pixels)
    background, obj = background_and_object(indices)
    if obj is None:
        return None
    ys, xs = np.nonzero(indices == obj)
    h, w = indices.shape
    y0, y1 = max(ys.min() - 1, 0), min(ys.max() + 2, h)
    x0, x1 = max(xs.min() - 1, 0), min(xs.max() + 2, w)
    alpha = _coverage(pixels[y0:y1, x0:x1], background, obj)
    width, height = float(alpha.max(axis=0).sum()), float(alpha.max(axis=1).sum())
    if width <= 0 or height <= 0:
        return None
    return {"fill": float(alpha.sum() / (width * height)), "aspect": height / width}


def read_shape(image) -> str | None:
    """Return the shape in a one-object picture: circle, square, triangle or hexagon.

    One test added in front of ``helpers.shapes.reader.read``: a box clearly taller than wide with a
    circle-like fill is a hexagon; anything else is what the reader says (nearest fill ratio:
    triangle 0.5, circle 0.785, square 1.0).
    Used in 09_editing_and_personalization.
    """
    features = shape_features(image)
    if features is None:
        return None
    fill, aspect = features["fill"], features["aspect"]
    if FILL_RANGE[0] <= fill <= FILL_RANGE[1] and aspect >= ASPECT_THRESHOLD:
        return HEXAGON
    return read(image)["shape"]
