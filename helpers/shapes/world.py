"""The Shapes world itself: pictures rendered from their attributes, and captions written and parsed.

The spec is ``docs/shapes-world.md`` (v1); every number here comes from it.
One-object and two-object pictures live here; people in poses live in
``helpers.shapes.people``; the reader that checks prompt adherence lives in
``helpers.shapes.reader``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SPEC_VERSION = 1
SUPERSAMPLE = 4

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 70),
    "blue": (40, 90, 220),
    "yellow": (240, 210, 50),
    "purple": (140, 60, 180),
    "orange": (245, 140, 30),
    "white": (245, 245, 245),
    "black": (25, 25, 25),
}
COLORS: tuple[str, ...] = tuple(PALETTE)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
SIZES: dict[str, float] = {"small": 0.14, "large": 0.26}
POSITIONS: dict[str, tuple[float, float]] = {
    "center": (0.50, 0.50),
    "left": (0.28, 0.50),
    "right": (0.72, 0.50),
    "top": (0.50, 0.28),
    "bottom": (0.50, 0.72),
}
# Attributes a caption may drop; the shape always stays.
OPTIONAL_ATTRIBUTES: tuple[str, ...] = ("size", "color", "position", "background")
ATTRIBUTES: tuple[str, ...] = ("shape", "size", "color", "position", "background")
MIN_SIDE = 32


@dataclass(frozen=True)
class Shape:
    """One object on a background: the five attributes of the Shapes world.

    Used in 01_gan_vae_recap, 02_forward_diffusion, 04_inside_stable_diffusion,
    05_running_stable_diffusion, 06_prompt_engineering, 08_controlnet,
    09_editing_and_personalization, 10_responsible_generation.
    """

    shape: str
    size: str
    color: str
    position: str
    background: str

    def __post_init__(self) -> None:
        _check_choice("shape", self.shape, SHAPES)
        _check_choice("size", self.size, tuple(SIZES))
        _check_choice("color", self.color, COLORS)
        _check_choice("position", self.position, tuple(POSITIONS))
        _check_choice("background", self.background, COLORS)
        if self.color == self.background:
            raise ValueError(
                f"the object's colour must differ from the background (both are {self.color!r})"
            )

    def as_dict(self) -> dict[str, str]:
        """Return the attributes as a plain dict."""
        return {name: getattr(self, name) for name in ATTRIBUTES}


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


def check_side(size: int) -> int:
    """Return ``size`` if it is a valid canvas side (an int >= 32), else raise ValueError.

    Used by helpers.shapes.{people, world} (no notebook calls it).
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < MIN_SIDE:
        raise ValueError(f"canvas side must be an integer >= {MIN_SIDE}, got {size!r}")
    return int(size)


def all_shapes() -> list[Shape]:
    """Return every valid one-object attribute combination (1,680 of them).

    Used in 02_forward_diffusion, 07_failure_cases.
    """
    return [
        Shape(shape, size, color, position, background)
        for shape in SHAPES
        for size in SIZES
        for color in COLORS
        for position in POSITIONS
        for background in COLORS
        if background != color
    ]


def random_shape(rng: random.Random) -> Shape:
    """Return a uniformly random one-object attribute set drawn with ``rng``.

    Used in 06_prompt_engineering, 07_failure_cases, 09_editing_and_personalization.
    """
    color = rng.choice(COLORS)
    background = rng.choice([c for c in COLORS if c != color])
    return Shape(
        shape=rng.choice(SHAPES),
        size=rng.choice(tuple(SIZES)),
        color=color,
        position=rng.choice(tuple(POSITIONS)),
        background=background,
    )


def _draw_object(draw: ImageDraw.ImageDraw, item: Shape, side: float,
                 anchor: tuple[float, float]) -> None:
    """Draw one object onto a supersampled canvas of ``side`` pixels."""
    r = SIZES[item.size] * side
    cx, cy = anchor[0] * side, anchor[1] * side
    fill = PALETTE[item.color]
    if item.shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif item.shape == "square":
        draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)


def supersampled(size: int, background: str,
                 paint: Callable[[ImageDraw.ImageDraw, int], None]) -> Image.Image:
    """Return a ``size`` x ``size`` picture painted at SUPERSAMPLE times the size, Lanczos-downsampled.

    ``paint(pen, big)`` draws on a ``big`` x ``big`` canvas filled with ``background``; every
    Shapes-world renderer draws this way, so edges are anti-aliased alike.
    Used by helpers.shapes.{hands, hexagons, people, world} (no notebook calls it).
    """
    size = check_side(size)
    big = size * SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), PALETTE[background])
    paint(ImageDraw.Draw(canvas), big)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def render(item: Shape, size: int = 64) -> Image.Image:
    """Return the RGB picture of one object, rendered at 4x and Lanczos-downsampled.

    Used in 02_forward_diffusion, 04_inside_stable_diffusion, 05_running_stable_diffusion,
    08_controlnet, 09_editing_and_personalization, 10_responsible_generation.
    """
    return supersampled(size, item.background,
                        lambda pen, big: _draw_object(pen, item, big, POSITIONS[item.position]))


@dataclass(frozen=True)
class TwoShapes:
    """Two small objects, one at the left and one at the right (failure-case lessons).

    Used by helpers.shapes.world (no notebook calls it).
    """

    left_shape: str
    left_color: str
    right_shape: str
    right_color: str
    background: str

    def __post_init__(self) -> None:
        # Building both halves validates every attribute and the colour rule.
        self.halves()

    def halves(self) -> tuple[Shape, Shape]:
        """Return the left and right objects as one-object attribute sets."""
        left = Shape(self.left_shape, "small", self.left_color, "left", self.background)
        right = Shape(self.right_shape, "small", self.right_color, "right", self.background)
        return left, right


def random_two_shapes(rng: random.Random) -> TwoShapes:
    """Return a random two-object attribute set (both objects differ from the background).

    Used in 07_failure_cases, 11_flow_matching.
    """
    background = rng.choice(COLORS)
    others = [c for c in COLORS if c != background]
    return TwoShapes(rng.choice(SHAPES), rng.choice(others), rng.choice(SHAPES),
                     rng.choice(others), background)


def render_two(item: TwoShapes, size: int = 64) -> Image.Image:
    """Return the picture of two small objects at the left and right.

    Used in 07_failure_cases.
    """
    def paint(pen: ImageDraw.ImageDraw, big: int) -> None:
        for half in item.halves():
            _draw_object(pen, half, big, POSITIONS[half.position])

    return supersampled(size, item.background, paint)


def caption(item: Shape, keep: tuple[str, ...] | None = None) -> str:
    """Return the caption of ``item``; ``keep`` names the optional attributes to mention.

    ``keep=None`` gives the full caption
    ``a {size} {color} {shape} at the {position} on a {background} background``;
    a partial caption drops the others but keeps the word order and the shape.
    Used in 02_forward_diffusion, 05_running_stable_diffusion, 06_prompt_engineering,
    07_failure_cases, 09_editing_and_personalization.
    """
    keep = OPTIONAL_ATTRIBUTES if keep is None else tuple(keep)
    for name in keep:
        _check_choice("caption attribute", name, OPTIONAL_ATTRIBUTES)
    words = ["a"]
    if "size" in keep:
        words.append(item.size)
    if "color" in keep:
        words.append(item.color)
    words.append(item.shape)
    if "position" in keep:
        words += ["at", "the", item.position]
    if "background" in keep:
        words += ["on", "a", item.background, "background"]
    return " ".join(words)


def caption_two(item: TwoShapes) -> str:
    """Return the two-object caption from the spec's grammar.

    Used in 07_failure_cases, 11_flow_matching.
    """
    return (f"a {item.left_color} {item.left_shape} at the left and a {item.right_color} "
            f"{item.right_shape} at the right on a {item.background} background")


def random_partial(item: Shape, rng: random.Random) -> tuple[str, dict[str, str]]:
    """Return a random partial caption of ``item`` and the attributes it names.

    Used in 07_failure_cases.
    """
    keep = tuple(name for name in OPTIONAL_ATTRIBUTES if rng.random() < 0.5)
    named = {"shape": item.shape, **{name: getattr(item, name) for name in keep}}
    return caption(item, keep), named


def parse_caption(text: str) -> dict[str, str]:
    """Return the attributes a one-object or person caption names.

    Raises ValueError for text outside the caption grammar (two-object captions
    are parsed by ``parse_two_caption``).
    Used in 10_responsible_generation.
    """
    words = text.strip().lower().split()
    if not words or words[0] != "a":
        raise ValueError(f"not a Shapes caption (must start with 'a'): {text!r}")
    named: dict[str, str] = {}
    i = 1
    if i < len(words) and words[i] in SIZES:
        named["size"] = words[i]
        i += 1
    if i < len(words) and words[i] in PALETTE:
        named["color"] = words[i]
        i += 1
    if i >= len(words) or words[i] not in (*SHAPES, "person"):
        raise ValueError(f"not a Shapes caption (no shape where one belongs): {text!r}")
    named["shape"] = words[i]
    i += 1
    if words[i:i + 2] == ["at", "the"] and i + 2 < len(words) and words[i + 2] in POSITIONS:
        named["position"] = words[i + 2]
        i += 3
    if (words[i:i + 2] == ["on", "a"] and i + 3 < len(words) and words[i + 2] in PALETTE
            and words[i + 3] == "background"):
        named["background"] = words[i + 2]
        i += 4
    if i != len(words):
        raise ValueError(f"not a Shapes caption (unexpected {' '.join(words[i:])!r}): {text!r}")
    if named["shape"] == "person" and ("size" in named or "position" in named):
        raise ValueError(f"a person caption names only colour and background: {text!r}")
    return named


def parse_two_caption(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return the (left, right) attributes a two-object caption names.

    Used in 07_failure_cases.
    """
    words = text.strip().lower().split()
    try:
        split = words.index("and")
    except ValueError as err:
        raise ValueError(f"not a two-object caption (no 'and'): {text!r}") from err
    right_words = words[split + 1:]
    left = parse_caption(" ".join(words[:split] + right_words[-4:]))
    right = parse_caption(" ".join(right_words))
    return left, right
