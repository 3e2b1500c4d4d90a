"""Exercise checkers of 05_running_stable_diffusion: seeded generators and img2img's step count.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import as_number, brief, call, checker, expect
from helpers.checks.korean_particles import with_particle


@checker
def check_generators(fn: Callable) -> str:
    """Return a true Verdict if ``fn(seed, n)`` returns n CPU generators seeded seed, seed + 1, ...

    Checked by the random numbers each generator draws, against a reference list.
    Used in 05_running_stable_diffusion.
    """
    for seed, n in ((42, 3), (0, 1)):
        generators = call(fn, seed, n)
        expect(isinstance(generators, (list, tuple)) and len(generators) == n,
               f"생성기 {n}개의 리스트여야 합니다 (받은 것: {brief(generators)}).")
        for i, generator in enumerate(generators):
            expect(isinstance(generator, torch.Generator) and generator.device.type == "cpu",
                   f"{i}번째가 CPU의 torch.Generator가 아닙니다.")
            drawn = torch.randn(4, generator=generator)
            expected = torch.randn(4, generator=torch.Generator("cpu").manual_seed(seed + i))
            expect(torch.equal(drawn, expected),
                   f"{i}번째 생성기의 시드가 {with_particle(f'seed + {i} = {seed + i}', '이/가')} 아닙니다.")
    return ("그림 i는 시드 seed + i: 배치를 바꿔도 같은 잡음에서 시작하므로, 그림은 회색 한 단계"
            "(255단계 중 1) 이내로 같습니다.")


@checker
def check_img2img_steps(fn: Callable) -> str:
    """Return a true Verdict if ``fn(steps, strength)`` is the number of steps img2img really runs.

    diffusers: min(int(steps * strength), steps); checked on strengths 0 to 1 and beyond.
    Used in 05_running_stable_diffusion.
    """
    for steps, strength in ((20, 0.4), (20, 0.55), (30, 1.0), (10, 0.0), (25, 0.3), (20, 1.5)):
        answer = as_number(call(fn, steps, strength), "돌려준 걸음 수")
        expected = min(int(steps * strength), steps)
        expect(answer == expected,
               f"steps={steps}, {with_particle(f'strength={strength}', '이면/면')} {expected}걸음인데 "
               f"{answer:g}입니다. "
               "내림(int)과 steps를 넘지 않는 것을 확인하세요.")
    return "강도가 낮을수록 걸음이 줄어 img2img는 더 빠릅니다."
