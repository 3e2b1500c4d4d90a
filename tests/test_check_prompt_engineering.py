"""Checkers of 06_prompt_engineering added or sharpened for #19: mixing embeddings and where a mix turns blue."""

from __future__ import annotations

import pytest
import torch

import helpers
from helpers import checks
from helpers.checks.prompt_engineering import blue_share


def mix(a, b, w):
    return (1 - w) * a + w * b


def test_mix_embeddings_accepts_lerp_and_any_float_dtype():
    assert checks.check_mix_embeddings(mix)
    assert checks.check_mix_embeddings(torch.lerp)
    assert checks.check_mix_embeddings(lambda a, b, w: mix(a, b, w).half())


def in_place(a, b, w):
    a.mul_(1 - w)
    return a.add_(w * b)


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda a, b, w: w * a + (1 - w) * b, "뒤바뀌었습니다"),
    (lambda a, b, w: a + w * b, "더한 값이 1이 아닙니다"),
    (lambda a, b, w: (1 - w) * a + b, "더한 값이 1이 아닙니다"),
    (in_place, "제자리 연산"),
    (lambda a, b, w: mix(a, b, w ** 2), "값이 다릅니다"),
    (lambda a, b, w: 1 / 0, "ZeroDivisionError"),
])
def test_mix_embeddings_names_each_typical_mistake(answer, hint):
    verdict = checks.check_mix_embeddings(answer)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict


def test_mix_embeddings_todo():
    assert checks.check_mix_embeddings(None).kind == "todo"


SEEDS = 2


@pytest.fixture(scope="module")
def mini():
    pipe = helpers.load_pipeline("text2img", model="mini-sd", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def crossing(mini):
    """The first weight on the grid where half of SEEDS pictures read blue, found by bisection (as 06's solution)."""
    low, high = 0, 10
    assert blue_share(mini, 0.0, SEEDS) < 0.5 <= blue_share(mini, 1.0, SEEDS)  # red at A, blue at B
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if blue_share(mini, middle / 10, SEEDS) < 0.5 else (low, middle)
    return round(high / 10, 1)


def test_mix_crossing_re_measures(mini, crossing):
    assert checks.check_mix_crossing(crossing, SEEDS, mini)
    assert checks.check_mix_crossing(torch.tensor(crossing), SEEDS, mini)  # any number type


def test_mix_crossing_names_each_typical_mistake(mini, crossing):
    early = checks.check_mix_crossing(round(crossing - 0.1, 1), SEEDS, mini)
    assert early.kind == "wrong" and "아직 절반이 안 됩니다" in early.message
    if crossing < 1.0:
        late = checks.check_mix_crossing(round(crossing + 0.1, 1), SEEDS, mini)
        assert late.kind == "wrong" and "이미 파랑이" in late.message
    off_grid = checks.check_mix_crossing(0.75, SEEDS, mini)
    assert off_grid.kind == "wrong" and "0, 0.1, …, 1" in off_grid.message


def test_mix_crossing_todo_and_odd_answers():
    assert checks.check_mix_crossing(None).kind == "todo"
    assert checks.check_mix_crossing("0.7").kind == "wrong"
    assert checks.check_mix_crossing(lambda: 0.7).kind == "wrong"
