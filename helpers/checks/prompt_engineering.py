"""Exercise checkers of 06_prompt_engineering: the Shapes full caption and mixing two embeddings.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import Hint, brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_full_prompt(fn: Callable) -> str:
    """Return a true Verdict if ``fn(shape, size, color, position, background)`` is the Shapes full caption.

    Compared word for word with ``shapes.caption`` on every shape and a few other attributes.
    Used in 06_prompt_engineering.
    """
    from helpers.shapes import Shape, caption, parse_caption

    items = [Shape("circle", "large", "red", "center", "blue"), Shape("triangle", "small", "yellow", "left", "black"),
             Shape("square", "large", "white", "bottom", "purple")]
    for item in items:
        answer = call(fn, item.shape, item.size, item.color, item.position, item.background)
        expect(isinstance(answer, str), f"문자열(str) 하나를 돌려주세요 (받은 것: {brief(answer)}).")
        if answer != caption(item):
            hint = ""
            if isinstance(answer, str):
                try:
                    if parse_caption(answer) == item.as_dict():
                        hint = " 뜻은 맞지만 띄어쓰기나 글자가 문법과 조금 다릅니다."
                except ValueError:
                    hint = " 단어 순서가 문법과 다릅니다: size, color, shape, position, background."
            raise Hint(f"{with_particle(repr(caption(item)), '이어야/여야')} 하는데 {brief(answer, 200)}입니다.{hint}")
    return "다 말한 캡션은 판독기가 다섯 속성을 모두 잴 수 있습니다."


@checker
def check_mix_embeddings(fn: Callable) -> str:
    """Return a true Verdict if ``fn(emb_a, emb_b, weight)`` is (1 - weight) * emb_a + weight * emb_b.

    Checked at weights 0, 0.3 and 1 on embeddings shaped like SD's (1, 77, 768).
    Used in 06_prompt_engineering.
    """
    generator = torch.Generator().manual_seed(0)
    emb_a = torch.randn(1, 77, 768, generator=generator)
    emb_b = torch.randn(1, 77, 768, generator=generator)
    for weight in (0.0, 0.3, 1.0):
        mixed = call(fn, emb_a, emb_b, weight)
        expect_tensor(mixed, (1, 77, 768), "섞은 임베딩")
        expect(close(mixed, (1 - weight) * emb_a + weight * emb_b),
               f"weight = {weight}에서 값이 다릅니다. weight = 0이면 A, 1이면 B 그대로여야 합니다.")
    return "섞는 비율로 두 프롬프트 사이를 부드럽게 오갈 수 있습니다."
