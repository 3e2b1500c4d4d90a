"""07's checkers: writing a word's attention share, and the fewest steps of the split drawing, re-measured.

Right answers pass, each recognised wrong answer gets its own hint, None is "not done yet" and a
crashing answer a hint. ``check_fewest_steps`` is tested on a stand-in measurement (its logic) and
once on the bundled model (its re-measurement).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import helpers
from helpers import checks, shapes
from helpers.checks import failure_cases


def word_share(probs, token, mask):
    heat = torch.as_tensor(probs).mean(0)[:, token].reshape(mask.shape)
    return heat[torch.as_tensor(mask)].sum() / heat.sum()


def hint(verdict) -> str:
    assert verdict.kind == "wrong", verdict
    return verdict.message


# --- check_word_share ---------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [
    word_share,
    lambda p, t, m: float(word_share(p, t, m)),
    lambda p, t, m: np.float32(word_share(p, t, m)),
    lambda p, t, m: word_share(p.double(), t, m).reshape(1),
    # summing the heads instead of averaging them gives the same share
    lambda p, t, m: (lambda heat: heat[m].sum() / heat.sum())(p.numpy().sum(0)[:, t].reshape(m.shape)),
], ids=["tensor", "float", "np.float32", "float64 of shape (1,)", "sum over heads"])
def test_word_share_accepts_right_answers_of_any_type(answer):
    assert checks.check_word_share(answer)


@pytest.mark.parametrize("answer, words", [
    # every token summed: each pixel's weights sum to 1, so the share is the mask's area
    (lambda p, t, m: (lambda heat: heat[m].sum() / heat.sum())(p.mean(0).sum(-1).reshape(m.shape)),
     "마스크의 넓이 비율이 나왔습니다"),
    (lambda p, t, m: p.mean(0)[:, t].reshape(m.shape)[m].sum(), "전체의 질량으로 나누세요"),
    (lambda p, t, m: (lambda heat: heat[m].sum() / heat.sum())(p.mean(0)[:, t].reshape(m.shape[::-1]).T),
     "전치(transpose)"),
    (lambda p, t, m: (lambda heat: heat[m].sum() / heat.sum())(p[0][:, t].reshape(m.shape)),
     "헤드 하나의 지도만 썼습니다"),
    (lambda p, t, m: 1 - word_share(p, t, m), "마스크 밖의 비율입니다"),
    (lambda p, t, m: (lambda heat: heat[m].sum() / heat.sum())(p.mean(0)[t].reshape(m.shape)),
     "probs의 축은 (헤드, 픽셀, 토큰) 순서입니다"),
], ids=["all tokens", "not divided", "transposed", "one head", "outside", "pixel axis"])
def test_word_share_names_each_common_mistake(answer, words):
    assert words in hint(checks.check_word_share(answer))


def test_word_share_todo_and_crash():
    assert checks.check_word_share(None).kind == "todo"

    def blank(probs, token, mask):
        raise NotImplementedError

    assert checks.check_word_share(blank).kind == "todo"
    assert "ZeroDivisionError" in hint(checks.check_word_share(lambda p, t, m: 1 / 0))
    assert "숫자 하나여야" in hint(checks.check_word_share(lambda p, t, m: p.mean(0)[:, t]))


def test_word_share_cases_tell_the_mistakes_apart():
    """Each recognised mistake gives a value other than the right one, in every case."""
    for _, probs, token, mask in failure_cases._share_cases():
        right = failure_cases._reference_share(probs, token, mask)
        heat = probs.mean(0)[:, token].reshape(mask.shape)
        flipped = probs.mean(0)[:, token].reshape(mask.shape[::-1]).T
        for wrong in (mask.mean(), heat[mask].sum(), flipped[mask].sum() / flipped.sum(),
                      probs[0][:, token].reshape(mask.shape)[mask].sum() / probs[0][:, token].sum(),
                      1 - right):
            assert abs(wrong - right) > 0.01


# --- check_split_two: the swapped order and a missing word are named --------------------------------


def split_two(text):
    left, right = shapes.parse_two_caption(text)
    return tuple(f"a small {o['color']} {o['shape']} at the {o['position']} on a {o['background']} background"
                 for o in (left, right))


@pytest.mark.parametrize("answer, words", [
    (lambda text: split_two(text)[::-1], "순서가 뒤바뀌었습니다"),
    (lambda text: tuple(s.replace("small ", "") for s in split_two(text)), "'small'을 넣으세요"),
    (lambda text: tuple(s.split(" on a ")[0] for s in split_two(text)), "배경이 빠졌습니다"),
    (lambda text: tuple(s.replace(" at the left", "").replace(" at the right", "") for s in split_two(text)),
     "자리(at the left / at the right)가 빠졌습니다"),
    (lambda text: split_two(text)[0], "캡션 두 개의 튜플"),
], ids=["swapped", "no small", "no background", "no position", "one caption"])
def test_split_two_names_each_common_mistake(answer, words):
    assert words in hint(checks.check_split_two(answer))


def test_split_two_accepts_a_list_and_extra_spaces():
    assert checks.check_split_two(lambda text: [f" {s}  " for s in split_two(text)])


# --- check_fewest_steps: the logic, on a stand-in measurement ------------------------------------

SHARES = {2: 0.125, 4: 0.25, 8: 0.625, 20: 0.625}


@pytest.fixture
def measured(monkeypatch):
    """Stand in for the split drawing: the "all" share at each step count, and which were measured."""
    calls = []

    def fake(inpaint, prompts, starts, steps, guidance):
        calls.append(steps)
        return SHARES[steps]

    monkeypatch.setattr(failure_cases, "_split_drawing_all", fake)
    return calls


def fewest(answer):
    return checks.check_fewest_steps(answer, object(), ["p"] * 8, [None] * 8, candidates=(2, 4, 8, 20))


@pytest.mark.parametrize("answer", [8, np.int64(8), torch.tensor(8), 8.0, [8], "8 "], ids=repr)
def test_fewest_steps_accepts_the_answer_in_any_form(measured, answer):
    assert fewest(answer)
    assert sorted(measured) == [2, 4, 8, 20]  # the answer, every smaller count and the target


@pytest.mark.parametrize("answer, words", [
    (4, "4걸음에서 all은 0.25로, 20걸음의 0.62에 못 미칩니다"),
    (20, "더 적은 8걸음에서도 all이 0.62로"),
    (0.625, "비율(share)로 보입니다"),
    (5, "재 본 걸음 수 중 하나여야 합니다: [2, 4, 8, 20] (받은 것: 5)"),
    ("eight", "숫자 하나여야"),
], ids=repr)
def test_fewest_steps_names_each_wrong_answer(measured, answer, words):
    assert words in hint(fewest(answer))


def test_fewest_steps_todo_and_missing_inputs(measured):
    assert fewest(None).kind == "todo"
    assert "inpaint 파이프라인" in hint(checks.check_fewest_steps(8))
    assert measured == []


# --- check_fewest_steps: the re-measurement, on the bundled model --------------------------------


def test_fewest_steps_re_measures_the_split_drawing():
    inpaint = helpers.load_pipeline("inpaint", model="mini-sd", dtype=torch.float32)
    inpaint.set_progress_bar_config(disable=True)
    items = [shapes.random_two_shapes(random.Random(7)) for _ in range(2)]
    prompts = [shapes.caption_two(item) for item in items]
    starts = [shapes.render(item.halves()[0], size=64) for item in items]  # the left object alone
    candidates = (1, 3)
    shares = {k: failure_cases._split_drawing_all(inpaint, prompts, starts, k, 5.0) for k in candidates}
    assert all(0.0 <= s <= 1.0 for s in shares.values())
    right = next(k for k in candidates if shares[k] >= shares[3])
    assert checks.check_fewest_steps(right, inpaint, prompts, starts, candidates=candidates)
    if right == 3:
        assert not checks.check_fewest_steps(1, inpaint, prompts, starts, candidates=candidates)
