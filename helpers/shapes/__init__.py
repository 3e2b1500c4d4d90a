"""The Shapes world: one labelled world in which every idea of the workbook is trained and measured.

``helpers.shapes`` itself is the world (``world.py``: render pictures, write and parse captions);
the modules beside it build on it: ``people`` (figures in poses), ``reader`` (read a picture back),
``dataset`` (a torch Dataset), ``hexagons`` (a shape the bundled model never saw) and
``sample_quality`` (is a picture one clean object?). The specification is docs/shapes-world.md.
"""

from helpers.shapes.world import (
    ATTRIBUTES,
    COLORS,
    MIN_SIDE,
    OPTIONAL_ATTRIBUTES,
    PALETTE,
    POSITIONS,
    SHAPES,
    SIZES,
    SPEC_VERSION,
    SUPERSAMPLE,
    Shape,
    TwoShapes,
    all_shapes,
    caption,
    caption_two,
    check_side,
    parse_caption,
    parse_two_caption,
    random_partial,
    random_shape,
    random_two_shapes,
    render,
    render_two,
)

__all__ = [
    "SPEC_VERSION",
    "SUPERSAMPLE",
    "PALETTE",
    "COLORS",
    "SHAPES",
    "SIZES",
    "POSITIONS",
    "OPTIONAL_ATTRIBUTES",
    "ATTRIBUTES",
    "MIN_SIDE",
    "Shape",
    "check_side",
    "all_shapes",
    "random_shape",
    "render",
    "TwoShapes",
    "random_two_shapes",
    "render_two",
    "caption",
    "caption_two",
    "random_partial",
    "parse_caption",
    "parse_two_caption",
]
