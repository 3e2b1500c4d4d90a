"""Korean captions of the Shapes world: one grammar, the spec's word table, parsing and scoring."""

import random
from pathlib import Path

import pytest

from helpers.shapes import OPTIONAL_ATTRIBUTES, Shape, all_shapes, caption, render
from helpers.shapes.captions import random_caption
from helpers.shapes.korean import (
    KOREAN_WORDS,
    is_korean,
    korean_caption,
    parse_korean_caption,
    random_korean_partial,
)
from helpers.shapes.reader import adherence

SPEC = Path(__file__).resolve().parent.parent / "docs" / "shapes-world.md"


def test_the_issues_example_and_the_grammar():
    item = Shape("circle", "large", "red", "center", "blue")
    assert korean_caption(item) == "파란 배경 가운데에 큰 빨간 원"
    assert korean_caption(item, keep=("color",)) == "빨간 원"
    assert korean_caption(item, keep=("position", "size")) == "가운데에 큰 원"
    assert korean_caption(item, keep=("background",)) == "파란 배경 원"


def test_every_shape_round_trips_through_its_korean_caption():
    rng = random.Random(0)
    for item in all_shapes():
        assert parse_korean_caption(korean_caption(item)) == item.as_dict()
        text, named = random_korean_partial(item, rng)
        assert parse_korean_caption(text) == named


@pytest.mark.parametrize("bad", ["", "빨간", "파란 배경", "큰 빨간 육각형", "원 빨간",
                                 "a red circle", "파란 배경 가운데 큰 원"])
def test_text_outside_the_grammar_is_refused_with_the_grammar(bad):
    with pytest.raises(ValueError, match="문법"):
        parse_korean_caption(bad)


def test_the_spec_table_lists_the_same_words_as_the_module():
    text = SPEC.read_text(encoding="utf-8").split("## Korean captions")[1].split("\n## ")[0]
    assert "{background} 배경 {position}에 {size} {color} {shape}" in text
    for kind, table in KOREAN_WORDS.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {kind} |"))
        cell = row.split("|")[2].split("(")[0]
        pairs = dict(pair.split() for pair in cell.split(","))
        assert pairs == table, (kind, pairs)


def test_random_caption_speaks_korean_at_the_asked_share():
    rng = random.Random(3)
    item = Shape("square", "small", "green", "left", "white")
    texts = [random_caption(item, rng, 0.1, 0.5, korean_share=0.5) for _ in range(2000)]
    korean = [t for t in texts if is_korean(t)]
    assert 0.4 < len(korean) / len(texts) < 0.5  # half of the 90% that are not empty
    assert "흰 배경 왼쪽에 작은 초록 네모" in korean
    english_only = [random_caption(item, random.Random(3), 0.1, 0.5) for _ in range(50)]
    assert not any(map(is_korean, english_only))


def test_the_reader_scores_korean_prompts_like_english_ones():
    items = [Shape("circle", "large", "red", "center", "blue"),
             Shape("triangle", "small", "yellow", "top", "black")]
    pictures = [render(item, 64) for item in items]
    korean = [korean_caption(item) for item in items]
    english = [caption(item) for item in items]
    assert adherence(korean, pictures) == adherence(english, pictures)
    assert adherence(korean, pictures)["all"] == 1.0
    wrong = adherence(["파란 배경 가운데에 큰 초록 원"], pictures[:1])
    assert wrong["color"] == 0.0 and wrong["shape"] == 1.0
    assert set(OPTIONAL_ATTRIBUTES) <= set(adherence(korean, pictures))
