"""Exercise checkers of 07_failure_cases: an attention map's mass share, splitting a two-object caption, the best fix.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks.api import as_number, brief, call, checker, expect
from helpers.checks.korean_particles import with_particle


@checker
def check_mass_share(fn: Callable) -> str:
    """Return a true Verdict if ``fn(heat, mask)`` is the share of a map's total mass inside a boolean mask.

    Checked on a random map, an even map (share = the mask's area), the same map scaled
    by 10 (the share must not change) and a mask covering everything (share 1).
    Used in 07_failure_cases.
    """
    heat = np.random.default_rng(0).random((8, 8))
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:5, 1:7] = True
    share = float(heat[mask].sum() / heat.sum())
    cases = [((heat, mask), share, "무작위 지도"), ((np.ones((8, 8)), mask), float(mask.mean()), "고른 지도"),
             ((heat * 10, mask), share, "10배 한 지도"), ((heat, np.ones((8, 8), dtype=bool)), 1.0, "전체 마스크")]
    for args, expected, name in cases:
        value = as_number(call(fn, *args), f"{name}에서 돌려준 값")
        expect(abs(value - expected) <= 1e-6,
               f"{name}: {with_particle(f'{expected:.4f}', '이어야/여야')} 하는데 {value:.4f}입니다. "
               "마스크 안의 합을 지도 전체의 합으로 나누세요.")
    return "고르게 퍼진 지도라면 마스크의 넓이 비율과 같고, 그보다 크면 그곳에 모인 것입니다."


@checker
def check_split_two(fn: Callable) -> str:
    """Return a true Verdict if ``fn(caption)`` splits a two-object caption into its two one-object captions.

    ``"a red circle at the left and a blue square at the right on a white background"`` gives
    ``("a small red circle at the left on a white background",
    "a small blue square at the right on a white background")``; checked on 20 seeded captions.
    Used in 07_failure_cases.
    """
    import random

    from helpers.shapes import caption, caption_two, random_two_shapes

    rng = random.Random(0)
    for _ in range(20):
        item = random_two_shapes(rng)
        text = caption_two(item)
        expected = tuple(caption(half) for half in item.halves())
        answer = call(fn, text)
        expect(isinstance(answer, (tuple, list)) and len(answer) == 2,
               f"캡션 두 개의 튜플 (왼쪽, 오른쪽)을 돌려주세요 (받은 것: {brief(answer, 200)}).")
        got = tuple(" ".join(str(a).lower().split()) for a in answer)
        expect(got == expected, f"{text!r}에서 {with_particle(repr(expected), '이/가')} 나와야 하는데 {got!r}입니다. "
                                "두 물체는 모두 small이고, 자리(at the left / at the right)와 배경을 그대로 씁니다.")
    return "한 물체짜리 캡션 두 개는 모델이 학습에서 본 문장입니다."


@checker
def check_best_fix(answer: str, fixes: dict[str, dict[str, float]], key: str = "all") -> str:
    """Return a true Verdict if ``answer`` names the row of ``fixes`` with the highest ``key`` value.

    ``fixes`` is the notebook's measured table (row name -> {column: value}). Case and extra
    spaces do not matter; an answer that is not one row name gets a hint.
    Used in 07_failure_cases.
    """
    rows = {" ".join(str(name).split()).lower(): name for name in fixes}
    expect(isinstance(answer, str),
           f"표의 줄 이름 하나를 문자열로 답하세요. 예: answer = {next(iter(fixes))!r} "
           f"(받은 것: {type(answer).__name__} {brief(answer)}).")
    row = rows.get(" ".join(answer.split()).lower())
    expect(row is not None, f"{with_particle(repr(answer), '은/는')} 표에 없는 줄입니다. "
                            f"다음 중에서 고르세요: {', '.join(map(str, fixes))}.")
    best = max(float(values[key]) for values in fixes.values())
    value = float(fixes[row][key])
    expect(value >= best, f"{row!r}의 {with_particle(key, '은/는')} {value:.2f}인데, "
                          f"더 높은 줄이 있습니다 ({best:.2f}).")
    return f"{row!r}: {key} {best:.2f}."
