"""The one caption sampler: the same captions for the same seeds as before it moved here."""

import random

from helpers.shapes import Shape, parse_caption
from helpers.shapes.captions import random_caption, random_captions
from helpers.shapes.people import Person


def test_random_captions_are_the_benchmarks_and_the_notebooks_captions():
    # Golden values from helpers.training.evaluate.random_captions before the move (commit fccbb3a).
    assert random_captions(3, seed=1) == [
        "a large blue circle at the center on a orange background",
        "a large black square at the top on a white background",
        "a small yellow square at the top on a red background",
    ]
    assert random_captions(2) == [  # the benchmark's default seed, 1234
        "a small black circle at the bottom on a red background",
        "a small red triangle at the center on a white background",
    ]
    assert random_captions(2, seed=20) == [
        "a small blue triangle at the right on a yellow background",
        "a large blue square at the center on a red background",
    ]
    assert random_captions(50, seed=10) == random_captions(50, seed=10)
    assert all(len(parse_caption(text)) == 5 for text in random_captions(50, seed=10))


def test_the_old_import_path_still_gives_the_same_function():
    from helpers.training import evaluate

    assert evaluate.random_captions is random_captions


def test_random_caption_draws_as_the_training_scripts_drew():
    # Golden values from helpers.shapes.dataset._random_caption before the move (commit fccbb3a).
    rng = random.Random(7)
    square = Shape("square", "large", "red", "center", "blue")
    full = "a large red square at the center on a blue background"
    assert [random_caption(square, rng, 0.1, 0.5) for _ in range(8)] == [
        full, full, "a large square at the center on a blue background", full, "", full, "", ""]
    person = Person("green", "white")
    full = "a green person on a white background"
    assert [random_caption(person, rng, 0.1, 0.6) for _ in range(8)] == [
        full, full, full, "a person on a white background", "a green person", full, full, full]


def test_random_caption_shares_follow_the_probabilities():
    rng = random.Random(0)
    square = Shape("square", "large", "red", "center", "blue")
    texts = [random_caption(square, rng, 0.2, 0.5) for _ in range(4000)]
    assert abs(texts.count("") / 4000 - 0.2) < 0.03
    full = "a large red square at the center on a blue background"
    assert {random_caption(square, rng, 0.0, 1.0) for _ in range(100)} == {full}
    assert "" not in {random_caption(square, rng, 0.0, 0.0) for _ in range(100)}
