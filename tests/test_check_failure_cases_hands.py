"""check_near_misses (07 section 6, hands): the right answer, each known mistake, todo."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.checks import check_near_misses
from helpers.shapes import Shape, render
from helpers.shapes.hands import Hand, render_hand

# asked, drawn (None: a circle, no palm). Differences over the 9 palms: 0, +1, -1, -2, +1, 0, 0, 0, +2
CASES = [(3, 3), (4, 5), (2, 1), (5, 3), (2, 3), (3, None), (1, 1), (4, 4), (5, 5), (1, 3)]
ITEMS = [Hand(asked, "red", "blue") for asked, _ in CASES]
PICTURES = [render_hand(Hand(drawn, "red", "blue")) if drawn else
            render(Shape("circle", "large", "red", "center", "blue")) for _, drawn in CASES]


@pytest.mark.parametrize("answer", [3 / 9, np.float32(3 / 9), torch.tensor(3 / 9, dtype=torch.float64),
                                    np.array([3 / 9])])
def test_the_right_share_passes_in_any_numeric_type(answer):
    verdict = check_near_misses(answer, ITEMS, PICTURES)
    assert verdict and "9장 중 3장" in verdict.message


@pytest.mark.parametrize(("answer", "words"), [
    (3 / 10, "모든 그림으로 나누었습니다"),
    (5 / 9, "틀린 그림을 모두 세었습니다"),
    (4 / 9, "맞은 그림의 비율"),
    (2 / 9, "하나 더 많은 그림만"),
    (1 / 9, "하나 적은 그림만"),
    (3, "3은 하나 차이인 그림의 수"),
    (100 / 3, "백분율"),
    (0.9, "0.9가 아닙니다"),
    ("0.33", "숫자 하나여야"),
])
def test_each_known_mistake_gets_its_own_hint(answer, words):
    verdict = check_near_misses(answer, ITEMS, PICTURES)
    assert not verdict and verdict.kind == "wrong" and words in verdict.message, verdict.message


def test_none_is_not_done_yet_and_mismatched_lists_are_explained():
    assert check_near_misses(None, ITEMS, PICTURES).kind == "todo"
    verdict = check_near_misses(0.3, ITEMS, PICTURES[:3])
    assert not verdict and "손 10개와 그림 3장" in verdict.message
    no_palm = check_near_misses(0.0, ITEMS[5:6], PICTURES[5:6])
    assert not no_palm and "손바닥이 있는 그림이 하나도 없어" in no_palm.message
