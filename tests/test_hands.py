"""Hands with countable fingers (07's offline hands failure): drawn to spec, counted back exactly."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from helpers import shapes
from helpers.shapes.hands import (
    FINGER_COUNTS,
    FINGER_PITCH,
    FINGER_WIDTH,
    PALM,
    Hand,
    all_hands,
    finger_spans,
    hand_caption,
    hand_scores,
    read_hand,
    render_hand,
)


def test_the_world_has_280_hands_each_valid():
    hands = all_hands()
    assert len(hands) == 5 * 8 * 7 == len(set(hands))
    assert {h.fingers for h in hands} == set(FINGER_COUNTS) == {1, 2, 3, 4, 5}
    assert all(h.color != h.background for h in hands)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"fingers": 6, "color": "red", "background": "blue"}, "fingers must be one of"),
    ({"fingers": 0, "color": "red", "background": "blue"}, "fingers must be one of"),
    ({"fingers": 3, "color": "pink", "background": "blue"}, "unknown colour 'pink'"),
    ({"fingers": 3, "color": "red", "background": "red"}, "both 'red'"),
])
def test_a_hand_outside_the_world_is_refused_with_a_reason(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Hand(**kwargs)


def test_captions_follow_one_grammar():
    assert hand_caption(Hand(3, "red", "blue")) == "a red hand with three fingers on a blue background"
    assert hand_caption(Hand(1, "white", "black")) == "a white hand with one finger on a black background"
    assert hand_caption(Hand(5, "green", "yellow"), background=False) == "a green hand with five fingers"


def test_fingers_fit_on_the_palm_with_gaps_wider_than_half_a_latent_cell():
    side = 64
    for n in FINGER_COUNTS:
        spans = finger_spans(n)
        assert spans[0][0] >= PALM[0] - 1e-9 and spans[-1][1] <= PALM[2] + 1e-9
        assert abs((spans[0][0] + spans[-1][1]) / 2 - 0.5) < 1e-9  # centred
    assert FINGER_WIDTH * side >= 4.9 and (FINGER_PITCH - FINGER_WIDTH) * side >= 4.9


@pytest.mark.parametrize("side", [64, 96])
def test_every_rendered_hand_is_read_exactly(side):
    for hand in all_hands():
        got = read_hand(render_hand(hand, side))
        assert got == {"color": hand.color, "background": hand.background, "hand": True,
                       "fingers": hand.fingers}, hand


def test_rendered_geometry_has_the_drawn_fingers_and_gaps():
    """A row through the fingers crosses exactly n runs of hand colour, each about 5 px wide at 64 px."""
    picture = np.asarray(render_hand(Hand(5, "red", "white"), 64), dtype=int)
    far = np.abs(picture - np.array(shapes.PALETTE["white"])).sum(-1) > 200
    row = far[int(0.35 * 64)]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
    widths = edges[1::2] - edges[::2]
    assert len(widths) == 5 and all(4 <= w <= 6 for w in widths)
    assert far[int(0.7 * 64)].sum() >= 0.7 * 64  # the palm row is wide


@pytest.mark.parametrize("sigma", [8.0, 16.0])
def test_the_count_survives_pixel_noise(sigma):
    rng = np.random.default_rng(0)
    for hand in all_hands()[::3]:
        pixels = np.asarray(render_hand(hand), dtype=np.float32)
        noisy = np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)
        assert read_hand(noisy)["fingers"] == hand.fingers, (hand, sigma)


def test_specks_are_not_fingers():
    picture = render_hand(Hand(2, "blue", "yellow"))
    draw = ImageDraw.Draw(picture)
    for x, y in ((4, 4), (30, 3), (58, 12), (10, 20)):
        draw.point((x, y), fill=shapes.PALETTE["blue"])
    assert read_hand(picture)["fingers"] == 2


def test_fingers_fused_at_the_top_count_as_one():
    picture = render_hand(Hand(3, "black", "white"), 64)
    spans = finger_spans(3)
    ImageDraw.Draw(picture).rectangle([spans[0][0] * 64, 0.18 * 64, spans[1][1] * 64, 0.28 * 64],
                                      fill=shapes.PALETTE["black"])
    assert read_hand(picture)["fingers"] == 2


def test_pictures_without_a_palm_have_no_hand():
    circle = shapes.render(shapes.Shape("circle", "large", "red", "center", "blue"))
    assert read_hand(circle) == {"color": "red", "background": "blue", "hand": False, "fingers": 0}
    plain = Image.new("RGB", (64, 64), shapes.PALETTE["green"])
    assert read_hand(plain) == {"color": None, "background": "green", "hand": False, "fingers": 0}


def test_hand_scores_count_right_and_wrong_fingers():
    asked = [Hand(3, "red", "blue"), Hand(4, "red", "blue"), Hand(2, "green", "white")]
    drawn = [render_hand(Hand(3, "red", "blue")), render_hand(Hand(5, "red", "blue")),
             shapes.render(shapes.Shape("square", "large", "green", "center", "white"))]
    scores = hand_scores(asked, drawn)
    assert scores["colour"] == 1.0 and scores["background"] == 1.0
    assert scores["hand"] == pytest.approx(2 / 3)
    assert scores["fingers"] == pytest.approx(1 / 3) == scores["all"]
    assert scores["finger error"] == pytest.approx(0.5)  # |3-3| and |5-4|, over the two palms
    with pytest.raises(ValueError, match="2 hands asked for but 1 pictures"):
        hand_scores(asked[:2], drawn[:1])


def test_no_shapes_world_object_is_read_as_a_hand():
    """Every one-object picture of the world (1680) has no palm: the palm is wider than any object."""
    assert not any(read_hand(shapes.render(item))["hand"] for item in shapes.all_shapes()[::4])


def test_a_finger_in_another_shade_is_not_part_of_the_hand():
    """As for Shapes objects, the hand is one palette colour: a finger drawn orange on a yellow hand is missed."""
    picture = render_hand(Hand(3, "yellow", "blue"), 64)
    left, right = finger_spans(3)[2]
    ImageDraw.Draw(picture).rectangle([left * 64, 0.18 * 64, right * 64 - 1, 0.50 * 64],
                                      fill=shapes.PALETTE["orange"])
    assert read_hand(picture) == {"color": "yellow", "background": "blue", "hand": True, "fingers": 2}
