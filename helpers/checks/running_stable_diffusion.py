"""Exercise checkers of 05_running_stable_diffusion: generators, img2img's steps, an Euler step, enough steps.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from helpers.checks.api import as_number, brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_generators(fn: Callable) -> str:
    """Return a true Verdict if ``fn(seed, n)`` returns n CPU generators seeded seed, seed + 1, ...

    Checked by the random numbers each generator draws, against a reference list; one
    generator object returned several times (``torch.manual_seed`` returns torch's one global
    generator) gets its own hint.
    Used in 05_running_stable_diffusion.
    """
    for seed, n in ((42, 3), (0, 1)):
        generators = call(fn, seed, n)
        expect(isinstance(generators, (list, tuple)) and len(generators) == n,
               f"생성기 {n}개의 리스트여야 합니다 (받은 것: {brief(generators)}).")
        expect(not any(generator is torch.default_generator for generator in generators),
               "torch.manual_seed(...)는 새 생성기를 만들지 않습니다: torch 전체가 함께 쓰는 "
               "전역 생성기(torch.default_generator) 하나의 시드를 바꾸고 그 하나를 돌려줍니다. "
               "그래서 리스트의 모든 원소가 같은 객체이고, 마지막으로 준 시드만 남습니다. "
               "그림마다 torch.Generator(\"cpu\")로 새 생성기를 만들어 시드를 주세요.")
        expect(len({id(generator) for generator in generators}) == n,
               "리스트에 같은 생성기 객체가 여러 번 들어 있습니다: manual_seed는 생성기 자신을 "
               "돌려주므로, 생성기 하나에 시드를 여러 번 주면 모두 같은 객체이고 마지막 시드만 "
               "남습니다. 그림마다 torch.Generator(\"cpu\")를 새로 만드세요.")
        for i, generator in enumerate(generators):
            expect(isinstance(generator, torch.Generator) and generator.device.type == "cpu",
                   f"{i}번째가 CPU의 torch.Generator가 아닙니다.")
            drawn = torch.randn(4, generator=generator)
            expected = torch.randn(4, generator=torch.Generator("cpu").manual_seed(seed + i))
            expect(torch.equal(drawn, expected),
                   f"{i}번째 생성기의 시드가 {with_particle(f'seed + {i} = {seed + i}', '이/가')} 아닙니다.")
    return ("그림 i는 시드 seed + i: 배치를 바꿔도 같은 노이즈에서 시작하므로, 그림은 회색 한 단계"
            "(255단계 중 1) 이내로 같습니다.")


#: (steps, strength) pairs diffusers accepts (0 < strength <= 1, at least one step), chosen so
#: that rounding, rounding up and the skipped count each give a different list of numbers.
IMG2IMG_CASES = ((20, 0.4), (25, 0.3), (20, 0.42), (7, 0.5), (50, 0.75), (10, 0.1), (30, 1.0),
                 (20, 0.55))


def img2img_steps(steps: int, strength: float) -> int:
    """Return how many denoising steps diffusers' img2img pipeline runs (its ``get_timesteps``).

    Used by helpers.checks.running_stable_diffusion (no notebook calls it).
    """
    return min(int(steps * strength), steps)


#: Rules students write instead, each with what is wrong about it.
_IMG2IMG_MISTAKES = (
    (lambda steps, strength: steps,
     "모든 걸음(steps)을 간다고 했습니다: strength가 작을수록 실제로 가는 걸음이 줄어듭니다. "
     "위에서 잰 숫자를 다시 보세요."),
    (lambda steps, strength: steps - min(int(steps * strength), steps),
     "처음부터 건너뛰는 걸음 수를 돌려주었습니다. 실제로 가는 (U-Net을 부르는) 걸음 수를 돌려주세요."),
    (lambda steps, strength: round(steps * strength),
     "반올림을 했습니다. diffusers는 소수점 아래를 버립니다 (25걸음, 0.3을 재 보세요)."),
    (lambda steps, strength: math.ceil(steps * strength),
     "steps × strength가 정수가 아닐 때 올림을 했습니다. diffusers는 소수점 아래를 버립니다 "
     "(20걸음, 0.42를 재 보세요)."),
)


@checker
def check_img2img_steps(fn: Callable) -> str:
    """Return a true Verdict if ``fn(steps, strength)`` is the number of steps img2img really runs.

    Checked on strengths diffusers accepts (``IMG2IMG_CASES``); an answer that follows one of
    the usual wrong rules on every case (all the steps, the skipped steps, rounding, rounding
    up) gets that rule's hint. Any numeric type is accepted.
    Used in 05_running_stable_diffusion.
    """
    answers = []
    for steps, strength in IMG2IMG_CASES:
        answer = as_number(call(fn, steps, strength), "돌려준 걸음 수")
        expect(answer.is_integer(),
               f"steps={steps}, {with_particle(f'strength={strength}', '이면/면')} {answer:g}입니다: "
               "걸음 수는 정수여야 합니다. 파이프라인은 걸음을 반 걸음만 가지 못합니다.")
        answers.append(answer)
    expected = [img2img_steps(*case) for case in IMG2IMG_CASES]
    if answers == expected:
        return ("강도가 낮을수록 걸음이 줄어 img2img는 더 빠릅니다. 강도가 1/steps보다 작으면 한 걸음도 "
                "가지 않으므로 diffusers(와 helpers.generate)는 그런 강도를 거절합니다.")
    for rule, hint in _IMG2IMG_MISTAKES:
        expect(answers != [rule(*case) for case in IMG2IMG_CASES], hint)
    (steps, strength), answer, right = next(
        (case, a, e) for case, a, e in zip(IMG2IMG_CASES, answers, expected, strict=True) if a != e)
    expect(False, f"steps={steps}, {with_particle(f'strength={strength}', '이면/면')} {right}걸음인데 "
                  f"{answer:g}입니다. 여러 strength에서 실제로 U-Net을 부른 횟수를 다시 세어 보세요.")
    return ""


def euler_step(x: torch.Tensor, eps: torch.Tensor, sigma: float, sigma_next: float) -> torch.Tensor:
    """Return one Euler step of the sigma ODE: x + (sigma_next - sigma) * eps (diffusers' Euler).

    Used by helpers.checks.running_stable_diffusion (no notebook calls it).
    """
    return x + (sigma_next - sigma) * eps


@checker
def check_euler_step(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x, eps, sigma, sigma_next)`` is one Euler step (as diffusers').

    Compared with ``euler_step`` on seeded latents at three (sigma, sigma_next) pairs, the last
    one ending at sigma 0, within 1e-5 (any float dtype); a flipped sign, a jump straight to
    the clean estimate and variances (sigma squared) in place of sigmas get their own hints.
    Used in 05_running_stable_diffusion.
    """
    generator = torch.Generator().manual_seed(5)
    x = 3.0 * torch.randn(2, 4, 8, 8, generator=generator)
    eps = torch.randn(2, 4, 8, 8, generator=generator)
    for sigma, sigma_next in ((14.6, 9.7), (2.0, 1.2), (0.5, 0.0)):
        answer = call(fn, x.clone(), eps.clone(), sigma, sigma_next)
        expect_tensor(answer, tuple(x.shape), "돌려준 다음 잠재 표현",
                      " 입력 x와 같은 모양의 텐서 하나를 돌려주세요.")
        if close(answer, euler_step(x, eps, sigma, sigma_next)):
            continue
        at = f"σ={sigma:g} → {sigma_next:g}에서"
        expect(not close(answer, euler_step(x, eps, sigma_next, sigma)),
               f"{at} 부호가 거꾸로입니다: 걸음 크기는 (다음 σ − 지금 σ)로, σ가 줄어드니 음수입니다. "
               "지금은 노이즈를 빼는 대신 더하고 있습니다.")
        expect(not close(answer, x - sigma * eps),
               f"{at} 깨끗한 그림의 추정 x̂0을 그대로 돌려주었습니다: 그것은 σ를 한 번에 0까지 "
               "가는 걸음입니다. 한 걸음은 σ에서 다음 σ까지만 갑니다.")
        expect(not close(answer, x + (sigma_next**2 - sigma**2) * eps),
               f"{at} σ의 제곱(분산)으로 걸음 크기를 쟀습니다: Euler는 σ 자체(표준편차)를 시간처럼 씁니다.")
        expect(False, f"{at} 값이 다릅니다. 기울기(x − x̂0)/σ를 먼저 계산하고, 걸음 크기를 곱해 "
                      "지금의 x에 더해 보세요.")
    return ("이것이 diffusers의 EulerDiscreteScheduler.step이 (s_churn=0일 때) 하는 일입니다. "
            "Euler a는 여기에 걸음마다 새 노이즈를 더하고, DPM-Solver++ 2M은 앞 걸음의 예측까지 씁니다.")


def measured_adherence(pipe: Any, prompts: list[str], steps: int, *, guidance: float,
                       seed: int) -> float:
    """Return the Shapes reader's "all" for ``prompts`` drawn by ``pipe`` with ``steps`` steps.

    Used by helpers.checks.running_stable_diffusion (no notebook calls it).
    """
    from helpers.core.generate import generate
    from helpers.shapes import reader

    images = generate(pipe, list(prompts), steps=steps, guidance=guidance, seed=seed)
    return float(reader.adherence(list(prompts), images)["all"])


@checker
def check_enough_steps(answer: Any, pipe: Any, prompts: list[str], *, target: float = 0.95,
                       guidance: float = 5.0, seed: int = 700) -> str:
    """Return a true Verdict if ``answer`` is the fewest steps (2 or more) reaching ``target``.

    Re-measures with the notebook's mini-sd pipeline, its scheduler as it is, ``prompts`` with
    seeds seed, seed + 1, ... and ``guidance``: adherence is the Shapes reader's "all". The
    answer is right if adherence at ``answer`` steps is at least ``target`` and at every step
    count from 2 to ``answer`` - 1 it is below. The measurement is deterministic (same seeds,
    same machine), so the tolerance is only 1e-9 on the adherence; it runs the smaller step
    counts only up to the first one that reaches ``target`` (a few seconds on a CPU in fast
    mode; generation-cache hits when the student measured the same way).
    Used in 05_running_stable_diffusion.
    """
    number = as_number(answer, "찾은 걸음 수")
    expect(number.is_integer() and number >= 2,
           f"걸음 수는 2 이상의 정수여야 하는데 {number:g}입니다.")
    steps = int(number)
    expect(steps <= 100, f"{steps}걸음은 너무 많습니다: 후보는 2걸음부터 위로 하나씩입니다.")
    score = measured_adherence(pipe, prompts, steps, guidance=guidance, seed=seed)
    expect(score >= target - 1e-9,
           f"{steps}걸음에서 다시 재니 충실도가 {with_particle(f'{score:.2f}', '이고/고')} 목표 "
           f"{target:g}에 못 미칩니다. 더 많은 걸음을 재 보세요 (시드 {seed}부터, 가이던스 {guidance:g}).")
    for fewer in range(2, steps):
        fewer_score = measured_adherence(pipe, prompts, fewer, guidance=guidance, seed=seed)
        expect(fewer_score < target - 1e-9,
               f"{fewer}걸음에서 이미 충실도가 {fewer_score:.2f}입니다 (목표 {target:g}). "
               f"{steps}걸음보다 적은 걸음 수도 하나씩 재 보세요 (충실도는 걸음 수와 함께 "
               "늘 오르지는 않습니다).")
    return (f"{steps}걸음: 이 프롬프트들에서 충실도 {target:g}에 닿는 가장 적은 걸음 수입니다. "
            "권하는 걸음 수는 여기에 여유를 둔 값입니다 (다른 프롬프트와 시드에서도 닿도록).")
