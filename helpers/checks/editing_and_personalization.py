"""Exercise checkers of 09_editing_and_personalization: a LoRA's weight count and InstructPix2Pix guidance.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import as_integer, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_lora_numbers(fn: Callable) -> str:
    """Return a true Verdict if ``fn(d_in, d_out, rank)`` is the number of weights a LoRA adds to a linear layer.

    A LoRA of rank r on a d_in -> d_out layer adds A (r x d_in) and B (d_out x r), no bias:
    r * (d_in + d_out). Checked against ``peft`` on a real layer too.
    Used in 09_editing_and_personalization.
    """
    from peft import LoraConfig, inject_adapter_in_model

    for d_in, d_out, rank in ((64, 64, 4), (64, 128, 4), (320, 768, 8), (10, 3, 1)):
        answer = as_integer(call(fn, d_in, d_out, rank), "돌려준 개수")
        layer = torch.nn.Sequential()
        layer.add_module("proj", torch.nn.Linear(d_in, d_out))
        layer = inject_adapter_in_model(LoraConfig(r=rank, target_modules=["proj"]), layer)
        expected = sum(p.numel() for n, p in layer.named_parameters() if "lora_" in n)
        hint = ""
        if answer == d_in * d_out:
            hint = " 그것은 층 전체(W)의 크기입니다: LoRA는 W 대신 작은 A와 B만 배웁니다."
        elif answer == rank * d_in or answer == rank * d_out:
            hint = " A와 B 둘 다 세어야 합니다."
        expect(answer == expected, f"d_in={d_in}, d_out={d_out}, {with_particle(f'rank={rank}', '이면/면')} "
                                   f"{expected}개인데 {answer}입니다.{hint}")
    return "rank가 작으면 층 크기(d_in × d_out)보다 훨씬 적은 숫자만 배웁니다."


@checker
def check_instruct_guidance(fn: Callable) -> str:
    """Return a true Verdict if ``fn`` combines InstructPix2Pix's three noise predictions with its two scales.

    uncond + image_scale * (image_only - uncond) + text_scale * (full - image_only), on seeded
    random tensors.
    Used in 09_editing_and_personalization.
    """
    generator = torch.Generator().manual_seed(9)
    uncond, image_only, full = (torch.randn(2, 4, 8, 8, generator=generator) for _ in range(3))
    for text_scale, image_scale in ((7.5, 1.5), (1.0, 1.0), (3.0, 2.0), (0.0, 0.0)):
        answer = call(fn, uncond.clone(), image_only.clone(), full.clone(), text_scale, image_scale)
        expect_tensor(answer, tuple(uncond.shape), "결과")
        expected = uncond + image_scale * (image_only - uncond) + text_scale * (full - image_only)
        hint = ""
        swapped = uncond + text_scale * (image_only - uncond) + image_scale * (full - image_only)
        if close(answer, swapped) and text_scale != image_scale:
            hint = " 두 가이던스 세기가 뒤바뀌었습니다: 그림 쪽 차이에 image_scale을 곱합니다."
        elif close(answer, uncond + text_scale * (full - uncond)):
            hint = " 그것은 보통의 분류기 없는 가이던스입니다: 그림만 준 예측(image_only)도 써야 합니다."
        expect(close(answer, expected),
               f"text_scale={text_scale}, image_scale={image_scale}에서 값이 다릅니다.{hint}")
    return "두 세기가 따로 있으니, 그림을 얼마나 지킬지와 지시를 얼마나 따를지를 따로 정할 수 있습니다."
