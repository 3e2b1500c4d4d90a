"""Exercise checkers of 07_failure_cases: a word's attention share, splitting a two-object caption, the fewest steps.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from helpers.checks.api import Hint, as_number, brief, call, checker, expect
from helpers.checks.korean_particles import with_particle
from helpers.shapes.hands import read_hand


def _reference_share(probs: np.ndarray, token: int, mask: np.ndarray) -> float:
    """Share of token ``token``'s head-averaged attention mass inside ``mask`` (the right answer)."""
    heat = probs.mean(0)[:, token].reshape(mask.shape)
    return float(heat[mask].sum() / heat.sum())


def _share_cases() -> list[tuple[str, np.ndarray, int, np.ndarray]]:
    """Seeded (name, probs (heads, pixels, tokens), token, mask) cases; each row of probs sums to 1."""
    rng = np.random.default_rng(7)
    cases = []
    for name, (h, w), heads, tokens, token in (("8x8 지도", (8, 8), 4, 6, 2),
                                               ("4x8 지도", (4, 8), 2, 5, 3)):
        logits = rng.normal(0.0, 1.5, size=(heads, h * w, tokens))
        logits[:, :, token] += np.linspace(-2.0, 2.0, h * w)  # the token looks at one corner more
        logits[0, :, token] -= np.linspace(-4.0, 4.0, h * w)  # head 0 looks at the other corner
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        mask = np.zeros((h, w), dtype=bool)
        mask[1:3, 2:w - 1] = True  # not symmetric: a transposed map reads a different share
        mask[h - 1, 0] = True
        cases.append((name, probs, token, mask))
    return cases


@checker
def check_word_share(fn: Callable) -> str:
    """Return a true Verdict if ``fn(probs, token, mask)`` is the share of one token's attention mass inside a mask.

    ``probs`` is one cross-attention layer's softmax weights for one picture, a float tensor of
    shape (heads, pixels, tokens) whose pixels run row by row over an h x w grid (each row of
    weights sums to 1 over the tokens); ``mask`` is an (h, w) boolean array. The right answer
    averages the heads, takes the token's column, lays it out as (h, w) and returns the mass
    inside the mask over the whole mass. Checked on an 8x8 and a 4x8 seeded case within 1e-5;
    recognised mistakes: the token's column not taken (the mask's area comes back), the mass
    not divided by the total, the map transposed, one head instead of their mean, the share
    outside the mask, and the pixel axis taken for the token axis (a shape error).
    Used in 07_failure_cases.
    """
    for name, probs, token, mask in _share_cases():
        expected = _reference_share(probs, token, mask)
        try:
            answer = call(fn, torch.tensor(probs, dtype=torch.float32), token, mask.copy())
        except Hint as reason:
            if any(word in str(reason) for word in ("shape", "size", "index", "dimension")):
                raise Hint(f"{reason} — probs의 축은 (헤드, 픽셀, 토큰) 순서입니다: 토큰 하나의 값은 "
                           "마지막 축에서 고르고, 픽셀 축을 마스크의 모양 (h, w)로 펼치세요.") from None
            raise
        value = as_number(answer, f"{name}에서 돌려준 값")
        if abs(value - expected) <= 1e-5:
            continue
        heat = probs.mean(0)[:, token].reshape(mask.shape)
        transposed = probs.mean(0)[:, token].reshape(mask.shape[::-1]).T
        one_head = probs[0][:, token].reshape(mask.shape)
        mistakes = [
            (float(mask.mean()), "마스크의 넓이 비율이 나왔습니다: 모든 토큰의 가중치를 더하면 픽셀마다 1이라 "
                                 "지도가 평평해집니다. 토큰 하나(token번째)의 값만 쓰세요."),
            (float(heat[mask].sum()), "마스크 안의 질량을 그대로 돌려주었습니다: 비율이 되게 지도 전체의 질량으로 "
                                      "나누세요."),
            (float(transposed[mask].sum() / transposed.sum()),
             "지도가 전치(transpose)되었습니다: 픽셀은 한 줄씩(row by row) 놓여 있으니 i번째 픽셀은 "
             "(i // w, i % w) 자리입니다. 픽셀 축을 (h, w)로 펼치세요."),
            (float(one_head[mask].sum() / one_head.sum()),
             "헤드 하나의 지도만 썼습니다: 헤드들은 서로 다른 곳을 보니 헤드 축(첫 축)에 대해 평균을 내세요."),
            (1.0 - expected, "마스크 밖의 비율입니다: 마스크가 True인 곳의 질량을 재세요."),
        ]
        for value_of_mistake, hint in mistakes:
            expect(abs(value - value_of_mistake) > 1e-5, f"{name}: {hint}")
        raise Hint(f"{name}: {with_particle(f'{expected:.4f}', '이어야/여야')} 하는데 {value:.4f}입니다. "
                   "헤드 평균 → 토큰 하나의 열 → (h, w) 지도 → 마스크 안의 질량 / 전체 질량의 순서로 "
                   "하나씩 확인하세요.")
    return ("이것이 4절 표의 숫자를 만든 계산입니다: 어텐션 가중치에서 단어 하나의 지도를 꺼내, "
            "물체 위에 얼마나 모였는지를 잽니다.")


@checker
def check_split_two(fn: Callable) -> str:
    """Return a true Verdict if ``fn(caption)`` splits a two-object caption into its two one-object captions.

    ``"a red circle at the left and a blue square at the right on a white background"`` gives
    ``("a small red circle at the left on a white background",
    "a small blue square at the right on a white background")``; checked on 20 seeded captions.
    Recognised mistakes: the two captions in swapped order, "small" left out, the background
    or the position left out, one caption instead of two.
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
        if got == expected:
            continue
        expect(got != expected[::-1], f"{text!r}에서 두 캡션의 순서가 뒤바뀌었습니다: 첫째는 왼쪽 물체(at the left), "
                                      "둘째는 오른쪽 물체(at the right)의 캡션이어야 합니다.")
        expect(tuple(g.replace(" small ", " ") for g in got) != tuple(e.replace(" small ", " ") for e in expected),
               f"{text!r}: 크기가 빠졌거나 다릅니다. 두 물체 그림의 물체는 둘 다 작으니(small) "
               "한 물체 캡션에 'small'을 넣으세요.")
        expect(not all(" background" not in g for g in got),
               f"{text!r}: 배경이 빠졌습니다. 두 물체는 같은 배경 위에 있으니 두 캡션 모두 "
               "'on a ... background'로 끝나야 합니다.")
        expect(not all(" at the " not in g for g in got),
               f"{text!r}: 자리(at the left / at the right)가 빠졌습니다.")
        raise Hint(f"{text!r}에서 {with_particle(repr(expected), '이/가')} 나와야 하는데 {got!r}입니다. "
                   "두 물체는 모두 small이고, 자리(at the left / at the right)와 배경을 그대로 씁니다.")
    return "한 물체짜리 캡션 두 개는 모델이 학습에서 본 문장입니다."


def _split_drawing_all(inpaint: Any, prompts: Sequence[str], starts: Sequence, steps: int,
                       guidance: float) -> float:
    """Re-measure 07's split drawing: the share of ``prompts`` read all right after inpainting the right half.

    The right half of each start picture is drawn again from the right object's one-object
    caption with ``steps`` steps (seed 0, one batch), the left half is pasted back, and the
    reader checks every attribute of the two-object prompt.
    """
    from PIL import Image, ImageDraw

    from helpers.core.generate import generate
    from helpers.shapes import parse_two_caption, reader

    width, height = starts[0].size
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).rectangle([width // 2, 0, width - 1, height - 1], fill=255)
    rights = []
    for prompt in prompts:
        right = parse_two_caption(prompt)[1]
        rights.append(f"a small {right['color']} {right['shape']} at the {right['position']} "
                      f"on a {right['background']} background")
    filled = generate(inpaint, rights, steps=steps, guidance=guidance, seed=0, image=list(starts),
                      mask_image=mask, batch=len(starts))
    pictures = [inpaint.image_processor.apply_overlay(mask, start, new)
                for start, new in zip(starts, filled, strict=True)]
    return float(reader.adherence(list(prompts), pictures)["all"])


def _as_step_count(answer: Any, candidates: Sequence[int]) -> int:
    """Read a student's step count: a number, a one-element list, or text such as "8 "."""
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, str) and answer.strip().isdigit():
        answer = int(answer.strip())
    value = as_number(answer, "answer")
    expect(not 0 < value < 1, f"answer가 {value:g}입니다: 이것은 비율(share)로 보입니다. "
                              f"답은 비율이 아니라 걸음 수 하나입니다 (다음 중 하나: {list(candidates)}).")
    expect(float(value).is_integer() and int(value) in candidates,
           f"answer는 재 본 걸음 수 중 하나여야 합니다: {list(candidates)} (받은 것: {value:g}).")
    return int(value)


@checker
def check_fewest_steps(answer: Any, inpaint: Any = None, prompts: Sequence[str] = (),
                       starts: Sequence = (), candidates: Sequence[int] = (2, 4, 8, 20),
                       guidance: float = 5.0) -> str:
    """Return a true Verdict if ``answer`` is the fewest steps at which 07's split drawing is as right as with the most.

    The split drawing inpaints the right half of each picture in ``starts`` (the left object
    drawn alone) from the right object's one-object caption, as 07 section 5 does. The checker
    re-measures the "all" share (every attribute of the two-object prompt read right) of
    ``prompts`` at the answer, at every smaller candidate and at the largest candidate (the
    target) with the same seeds, start pictures and batch, so on one machine the shares are
    the student's exactly; tolerance 1e-9 (a share is a count of pictures over their number).
    The answer is right if its share reaches the target and no smaller candidate's does. A
    number, a one-element list and text such as "8 " are accepted; a share given instead of a
    step count, a step count not among ``candidates``, a count that falls short and a count
    with a smaller one also reaching the target each get their own hint.
    Used in 07_failure_cases.
    """
    candidates = sorted(int(c) for c in candidates)
    expect(candidates, "재 볼 걸음 수 목록(candidates)이 비어 있습니다.")
    steps = _as_step_count(answer, candidates)
    expect(inpaint is not None and len(prompts) > 0 and len(prompts) == len(starts),
           "checker에 inpaint 파이프라인, 두 물체 프롬프트와 같은 수의 시작 그림을 넣으세요 "
           "(연습 칸의 마지막 줄 그대로).")
    measured: dict[int, float] = {}

    def share(k: int) -> float:
        if k not in measured:
            measured[k] = _split_drawing_all(inpaint, prompts, starts, k, guidance)
        return measured[k]

    most = candidates[-1]
    target = share(most)
    expect(share(steps) >= target - 1e-9,
           f"{steps}걸음에서 all은 {with_particle(f'{share(steps):.2f}', '으로/로')}, {most}걸음의 {target:.2f}에 못 미칩니다 "
           "(같은 시드로 다시 재 보았습니다). 더 많은 걸음 수를 보세요.")
    smaller = [k for k in candidates if k < steps and share(k) >= target - 1e-9]
    if smaller:
        raise Hint(f"{steps}걸음은 목표에 닿지만, 더 적은 {smaller[0]}걸음에서도 all이 "
                   f"{with_particle(f'{share(smaller[0]):.2f}', '으로/로')} {most}걸음의 {target:.2f}에 닿습니다. "
                   "목표에 닿는 가장 적은 걸음 수를 찾으세요.")
    below = ", ".join(f"{k}걸음 {share(k):.2f}" for k in candidates if k < steps)
    return (f"{steps}걸음이면 all {share(steps):.2f}, {most}걸음과 같은 수준입니다"
            + (f" (그보다 적으면: {below})" if below else "")
            + ". 모델이 학습에서 본 한 물체 문장으로 그리면 적은 걸음으로도 됩니다.")


#: How close a near-miss share must be (the checker re-reads the same pictures: deterministic).
NEAR_MISS_TOLERANCE = 1e-6


def _near_miss_values(items: Sequence[Any], pictures: Sequence[Any]) -> dict[str, float]:
    """Return the right share and the values of the usual wrong answers, read from ``pictures``."""
    reads = [read_hand(picture) for picture in pictures]
    differences = [r["fingers"] - item.fingers for item, r in zip(items, reads, strict=True) if r["hand"]]
    expect(differences, "이 그림들에는 손바닥이 있는 그림이 하나도 없어 잴 수 없습니다: "
                        "손 LoRA를 불러온 파이프라인으로 그린 그림을 넣었는지 확인하세요.")
    d = np.array(differences)
    return {
        "right": float(np.mean(np.abs(d) == 1)),
        "over all pictures": float(np.sum(np.abs(d) == 1) / len(pictures)),
        "any miss": float(np.mean(d != 0)),
        "exact": float(np.mean(d == 0)),
        "one too many": float(np.mean(d == 1)),
        "one too few": float(np.mean(d == -1)),
        "count": float(np.sum(np.abs(d) == 1)),
        "palms": float(len(d)),
    }


@checker
def check_near_misses(answer: Any, items: Sequence[Any], pictures: Sequence[Any]) -> str:
    """Return a true Verdict if ``answer`` is the share of near misses among the hands with a palm.

    ``items`` are the hands asked for (``helpers.shapes.hands.Hand``), ``pictures`` what the model
    drew for them, in the same order. A near miss is a picture with a palm whose finger count
    (``read_hand``) is off by exactly one; the share is over the pictures with a palm. The
    checker reads the same pictures again with ``read_hand`` (deterministic, well under a
    second) and accepts the answer within 1e-6. Recognised mistakes: the share taken over all
    pictures (palm or not), every wrong count instead of off-by-one, the share right, only one
    too many or only one too few, the number of pictures instead of a share, and a percentage.
    Used in 07_failure_cases.
    """
    value = as_number(answer, "답")
    expect(len(items) == len(pictures) and len(items) > 0,
           f"손 {len(items)}개와 그림 {len(pictures)}장을 받았습니다: 같은 순서로 같은 수여야 합니다.")
    values = _near_miss_values(items, pictures)
    right, palms, count = values["right"], int(values["palms"]), int(values["count"])
    if abs(value - right) <= NEAR_MISS_TOLERANCE:
        return (f"손바닥이 있는 그림 {palms}장 중 {count}장이 손가락 하나 차이로 틀렸습니다 "
                f"({right:.2f}). 진짜 SD의 \"여섯 손가락\"처럼, 틀릴 때는 대개 하나 차이입니다."
                if right >= 0.5 * values["any miss"] else
                f"손바닥이 있는 그림 {palms}장 중 {count}장이 하나 차이였습니다 ({right:.2f}).")
    if 1 < value <= 100 and abs(value / 100 - right) <= NEAR_MISS_TOLERANCE:
        raise Hint(f"{with_particle(f'{value:g}', '은/는')} 백분율(%)로 보입니다: 0과 1 사이의 비율로 답하세요.")
    if abs(value - count) <= NEAR_MISS_TOLERANCE and count != right:
        raise Hint(f"{with_particle(f'{value:g}', '은/는')} 하나 차이인 그림의 수입니다: "
                   f"손바닥이 있는 그림의 수({palms})로 나눠 비율로 답하세요.")
    mistakes = [
        ("over all pictures", "모든 그림으로 나누었습니다: 손바닥이 없는 그림은 손가락을 셀 수 없으니 빼고, "
                              "손바닥이 있는 그림(read_hand(...)[\"hand\"])만 세세요."),
        ("any miss", "틀린 그림을 모두 세었습니다: 둘 이상 차이 나는 그림은 빼고, 개수가 정확히 하나 "
                     "차이인 그림(|센 수 - 요청한 수| = 1)만 세세요."),
        ("exact", "맞은 그림의 비율이 나왔습니다: 개수가 정확히 맞은 그림이 아니라 하나 차이로 틀린 그림을 세세요."),
        ("one too many", "하나 더 많은 그림만 세었습니다: 하나 적은 그림도 하나 차이입니다 (절댓값을 쓰세요)."),
        ("one too few", "하나 적은 그림만 세었습니다: 하나 많은 그림도 하나 차이입니다 (절댓값을 쓰세요)."),
    ]
    for name, hint in mistakes:
        if abs(value - values[name]) <= NEAR_MISS_TOLERANCE:
            raise Hint(hint)
    raise Hint(f"{with_particle(f'{value:g}', '이/가')} 아닙니다. 그림마다 hands.read_hand로 손바닥이 있는지와 "
               "손가락 수를 읽고, 손바닥이 있는 그림 중 요청한 수와 정확히 하나 차이인 그림의 비율을 내세요.")
