"""helpers.prompting.two_objects: two-object outcomes read from rendered pictures whose answer is known."""

from __future__ import annotations

import random

import numpy as np
import pytest

from helpers import shapes
from helpers.prompting.two_objects import (
    count_objects,
    object_mask,
    outcome_shares,
    two_object_outcome,
)
from helpers.shapes.reader import component_sizes, largest_component_share

TWO = shapes.TwoShapes("circle", "red", "square", "blue", "white")
PROMPT = shapes.caption_two(TWO)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_rendered_two_object_pictures_read_as_two_objects_with_their_colours(size):
    rng = random.Random(3)
    for _ in range(40):
        item = shapes.random_two_shapes(rng)
        outcome = two_object_outcome(shapes.caption_two(item), shapes.render_two(item, size))
        assert outcome["layout"] == "two objects"
        assert outcome["colours"] == "right"
        assert (outcome["left"], outcome["right"]) == (item.left_color, item.right_color)
        assert not outcome["background_leak"]
        assert count_objects(shapes.render_two(item, size)) == 2


def test_swapped_colours_are_called_swapped():
    swapped = shapes.TwoShapes("circle", "blue", "square", "red", "white")
    outcome = two_object_outcome(PROMPT, shapes.render_two(swapped))
    assert outcome["layout"] == "two objects" and outcome["colours"] == "swapped"
    other = shapes.TwoShapes("circle", "green", "square", "blue", "white")
    assert two_object_outcome(PROMPT, shapes.render_two(other))["colours"] == "wrong"


def test_one_object_pictures_are_missing_or_one_blob_and_leaks_are_seen():
    left_only = shapes.render(shapes.Shape("circle", "small", "red", "left", "white"))
    assert two_object_outcome(PROMPT, left_only)["layout"] == "one missing"
    big = shapes.render(shapes.Shape("circle", "large", "red", "center", "white"))
    outcome = two_object_outcome(PROMPT, big)
    assert outcome["layout"] == "one blob" and outcome["colours"] is None
    leak = shapes.render(shapes.Shape("circle", "small", "red", "left", "blue"))  # blue took the background
    assert two_object_outcome(PROMPT, leak)["background_leak"]
    empty = shapes.render(shapes.Shape("circle", "small", "red", "left", "white")).point(lambda _: 245)
    assert two_object_outcome(PROMPT, empty)["layout"] == "none"


def test_outcome_shares_adds_up_and_checks_lengths():
    pictures = [shapes.render_two(TWO), shapes.render(shapes.Shape("circle", "large", "red", "center", "blue"))]
    shares = outcome_shares([PROMPT] * 2, pictures)
    assert shares["two objects"] == 0.5 and shares["one blob"] == 0.5
    assert sum(shares[k] for k in ("two objects", "one blob", "one missing", "none")) == 1.0
    assert shares["colours right"] == 0.5 and shares["background leak"] == 0.5
    with pytest.raises(ValueError, match="2 prompts but 1 images"):
        outcome_shares([PROMPT] * 2, pictures[:1])
    with pytest.raises(ValueError, match="at least one"):
        outcome_shares([], [])
    with pytest.raises(ValueError, match="no 'and'"):
        two_object_outcome("a red circle", pictures[0])


def test_counting_objects_ignores_specks_and_murky_backgrounds():
    picture = np.asarray(shapes.render(shapes.Shape("square", "small", "red", "center", "white"))).copy()
    picture[2, 2] = (25, 25, 25)  # one black speck
    assert count_objects(picture) == 1
    assert len(component_sizes(object_mask(picture))) == 2  # the speck is a component of its own
    picture[40:64, 0:20] = (40, 170, 70)  # a green blotch on the border: a second background colour
    assert count_objects(picture) == 1
    blank = shapes.render(shapes.Shape("square", "small", "red", "center", "white")).point(lambda _: 245)
    assert count_objects(blank) == 0
    assert largest_component_share(np.zeros((4, 4), dtype=bool)) == (0, 0.0)
