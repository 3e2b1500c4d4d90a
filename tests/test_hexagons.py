"""The hexagon (09): drawn by the Shapes world's rules, read back apart from the three known shapes."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from helpers import shapes
from helpers.shapes.hexagons import (
    HEXAGON,
    Hexagon,
    hexagon_caption,
    read_shape,
    render_hexagon,
    shape_features,
)


def object_box(picture, background):
    """Return (x0, x1, y0, y1) of the pixels that are not the background colour (with a margin)."""
    pixels = np.asarray(picture, dtype=int)
    far = np.abs(pixels - np.array(shapes.PALETTE[background])).sum(-1) > 60
    ys, xs = np.nonzero(far)
    return xs.min(), xs.max() + 1, ys.min(), ys.max() + 1


@pytest.mark.parametrize("size", ["small", "large"])
def test_hexagon_has_the_spec_geometry(size):
    side = 128
    picture = render_hexagon(Hexagon(size, "red", "left", "white"), side)
    x0, x1, y0, y1 = object_box(picture, "white")
    r = shapes.SIZES[size] * side
    assert abs((y1 - y0) - 2 * r) <= 2  # corner to corner, up and down
    assert abs((x1 - x0) - math.sqrt(3) * r) <= 2  # flat sides left and right
    cx, cy = (x0 + x1) / 2 / side, (y0 + y1) / 2 / side
    assert abs(cx - 0.28) < 0.02 and abs(cy - 0.50) < 0.02
    assert np.asarray(picture)[0, 0].tolist() == list(shapes.PALETTE["white"])


def test_known_shapes_render_as_before():
    """The hexagon module leaves the Shapes world's own pictures alone."""
    item = shapes.Shape("triangle", "large", "blue", "top", "yellow")
    assert shapes.SHAPES == ("circle", "square", "triangle")
    assert read_shape(shapes.render(item)) == "triangle"


def test_read_shape_reads_rendered_pictures_of_all_four_shapes():
    rng = random.Random(3)
    wrong = []
    for size in shapes.SIZES:
        for shape in ("circle", "square", "triangle", HEXAGON):
            for _ in range(12):
                color = rng.choice(shapes.COLORS)
                attrs = dict(size=size, color=color, position=rng.choice(list(shapes.POSITIONS)),
                             background=rng.choice([c for c in shapes.COLORS if c != color]))
                if shape == HEXAGON:
                    picture = render_hexagon(Hexagon(**attrs))
                else:
                    picture = shapes.render(shapes.Shape(shape, **attrs))
                got = read_shape(picture)
                if got != shape:
                    wrong.append((shape, attrs, got))
    assert wrong == []


def test_features_of_a_large_hexagon():
    features = shape_features(render_hexagon(Hexagon("large", "green", "center", "black")))
    assert abs(features["fill"] - 0.75) < 0.02
    assert abs(features["aspect"] - 2 / math.sqrt(3)) < 0.04
    circle = shape_features(shapes.render(shapes.Shape("circle", "large", "green", "center", "black")))
    assert abs(circle["aspect"] - 1.0) < 0.02


def test_empty_picture_has_no_shape():
    from PIL import Image

    blank = Image.new("RGB", (64, 64), shapes.PALETTE["blue"])
    assert shape_features(blank) is None and read_shape(blank) is None


def test_bad_hexagons_are_refused():
    with pytest.raises(ValueError, match="differ from the background"):
        Hexagon("large", "red", "left", "red")
    with pytest.raises(ValueError, match="unknown size"):
        Hexagon("huge", "red", "left", "blue")
    with pytest.raises(ValueError, match="canvas side"):
        render_hexagon(Hexagon("large", "red", "left", "blue"), 16)


def test_captions_put_the_word_where_the_shape_goes():
    item = Hexagon("large", "red", "left", "blue")
    assert hexagon_caption(item) == "a large red hexagon at the left on a blue background"
    assert hexagon_caption(item, "<hexagon>", ("color",)) == "a red <hexagon>"
    shape = shapes.Shape("circle", "small", "white", "top", "black")
    assert hexagon_caption(shape, "sks", ("position",)) == "a sks at the top"
    assert item.as_dict()["shape"] == HEXAGON
