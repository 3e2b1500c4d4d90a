"""The clean-shape test passes every rendered picture and fails noise, blends and two objects."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

from helpers import shapes
from helpers.shapes import sample_quality as sq


@pytest.mark.parametrize("side", [32, 64])
def test_every_rendered_picture_is_clean(side):
    items = shapes.all_shapes()[::7] if side == 64 else shapes.all_shapes()
    assert sq.clean_share([shapes.render(item, side) for item in items]) == 1.0


def test_noise_blends_and_two_objects_are_not_clean():
    rng = random.Random(0)
    noise_rng = np.random.default_rng(0)
    noise = [noise_rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(20)]
    two = [shapes.render_two(shapes.random_two_shapes(rng), 32) for _ in range(20)]
    blends = []
    while len(blends) < 20:
        a, b = shapes.random_shape(rng), shapes.random_shape(rng)
        apart = {a.position, b.position} in ({"left", "right"}, {"top", "bottom"})
        small = a.size == b.size == "small"  # two large ones overlap into one blob
        if a.background == b.background and apart and small:  # two separate faded objects
            blends.append(Image.blend(shapes.render(a, 32), shapes.render(b, 32), 0.5))
    noisy = [
        np.clip(np.asarray(picture) + noise_rng.normal(0, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
        for picture in (shapes.render(shapes.random_shape(rng), 32) for _ in range(20))
    ]
    assert sq.clean_share(noise) == 0.0
    assert sq.clean_share(two) == 0.0
    assert sq.clean_share(blends) == 0.0
    assert sq.clean_share(noisy) == 0.0
    # the structure test alone also fails noise, two objects and blends
    assert sq.single_shape_share(noise) == 0.0
    assert sq.single_shape_share(two) == 0.0
    assert sq.single_shape_share(blends) == 0.0


def test_washed_out_colours_are_a_single_shape_but_not_clean():
    rng = random.Random(1)
    grey = Image.new("RGB", (32, 32), (128, 128, 128))
    faded = [Image.blend(shapes.render(shapes.random_shape(rng), 32), grey, 0.3) for _ in range(40)]
    assert sq.single_shape_share(faded) >= 0.85  # snapping loses a few faded pairs
    assert sq.clean_share(faded) == 0.0
    report = sq.clean_shape_report(faded[0])
    assert report["median_distance"] > sq.MAX_MEDIAN_DISTANCE and report["single_shape"]


def test_report_numbers_for_a_known_picture():
    item = shapes.Shape("square", "large", "red", "center", "blue")
    report = sq.clean_shape_report(shapes.render(item, 64))
    # a square of half-side 0.26 W covers (0.52)^2 = 27% of the canvas
    assert report["area"] == pytest.approx(0.52**2, abs=0.02)
    assert report["fill_error"] < 0.05 and report["stray_share"] == 0.0
    assert report["component_share"] == 1.0 and report["clean"] is True
    assert report["single_shape"] is True and report["median_distance"] == 0.0
    flat = np.full((32, 32, 3), 40, dtype=np.uint8)  # nothing but background
    assert sq.clean_shape_report(flat)["clean"] is False
    with pytest.raises(ValueError):
        sq.clean_share([])
    with pytest.raises(ValueError):
        sq.single_shape_share([])
