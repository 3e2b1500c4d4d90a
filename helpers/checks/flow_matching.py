"""Exercise checkers of 11_flow_matching: the flow-matching loss, one Euler step, the straightness of reflow.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from helpers.checks.api import Hint, as_number, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


def _toy_velocity(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """A fixed stand-in for a velocity model: depends on both the point and the time."""
    return 0.5 * x - s.float().view(-1, *([1] * (x.dim() - 1)))


def _flow_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Return the fixed (x0, noise, s) inputs of check_flow_matching_loss: 2-D points and pictures."""
    generator = torch.Generator().manual_seed(0)
    cases = []
    for shape in ((6, 2), (4, 3, 8, 8)):
        x0 = torch.rand(shape, generator=generator) * 2 - 1
        noise = torch.randn(shape, generator=generator)
        s = torch.rand(shape[0], generator=generator)
        cases.append((x0, noise, s))
    return cases


def _flow_loss(x0: torch.Tensor, noise: torch.Tensor, s: torch.Tensor, *, mix: str = "right",
               target: str = "right") -> torch.Tensor:
    """Return the loss of one case, the right way or one of the recognised mistakes."""
    s_b = s.view(-1, *([1] * (x0.dim() - 1)))
    x_s = {"right": (1 - s_b) * x0 + s_b * noise, "swapped": s_b * x0 + (1 - s_b) * noise,
           "ddpm": (1 - s_b).sqrt() * x0 + s_b.sqrt() * noise}[mix]
    wanted = {"right": noise - x0, "sign": x0 - noise, "noise": noise, "x0": x0}[target]
    return torch.nn.functional.mse_loss(_toy_velocity(x_s, s), wanted)


@checker
def check_flow_matching_loss(fn: Callable) -> str:
    """Return a true Verdict if ``fn(model, x0, noise, s)`` is the rectified-flow training loss.

    The loss: x_s = (1 − s) x0 + s·noise (s broadcast over x0's shape), the model's velocity
    ``model(x_s, s)`` against the target noise − x0, mean squared error. Checked with a fixed
    toy model on 2-D points and on 3x8x8 pictures. Recognised mistakes: the target's sign
    (x0 − noise), the noise or x0 as the target (DDPM's habit), the two ends swapped in the mix,
    DDPM's square roots in the mix, and s not broadcast (a crash on pictures).
    Used in 11_flow_matching.
    """
    mistakes = {
        ("right", "sign"): "목표의 부호가 반대입니다. s가 0(그림)에서 1(노이즈)로 갈 때의 속도는 noise − x0입니다.",
        ("right", "noise"): "목표가 노이즈입니다. 그것은 DDPM의 목표이고, 흐름 정합은 속도 noise − x0를 맞힙니다.",
        ("right", "x0"): "목표가 x0입니다. 흐름 정합은 그림이 아니라 속도 noise − x0를 맞힙니다.",
        ("swapped", "right"): "섞는 식의 두 끝이 바뀌었습니다: s = 0이 그림, s = 1이 노이즈이니 "
                              "x_s = (1 − s)·x0 + s·noise입니다.",
        ("ddpm", "right"): "섞는 식에 제곱근이 있습니다. 그것은 DDPM의 식이고, 흐름 정합은 곧은 선 "
                           "(1 − s)·x0 + s·noise를 씁니다.",
    }
    for x0, noise, s in _flow_cases():
        loss = call(fn, _toy_velocity, x0.clone(), noise.clone(), s.clone())
        expect(isinstance(loss, torch.Tensor) and loss.numel() == 1,
               "손실(loss)은 숫자 하나(스칼라 텐서)여야 합니다: 평균(.mean() 또는 F.mse_loss)을 잊지 않았나요?")
        expected = _flow_loss(x0, noise, s)
        if close(loss.reshape(()), expected):
            continue
        for (mix, target), hint in mistakes.items():
            if close(loss.reshape(()), _flow_loss(x0, noise, s, mix=mix, target=target)):
                raise Hint(hint)
        where = "2차원 점" if x0.dim() == 2 else "그림(4, 3, 8, 8)"
        raise Hint(f"{where}에서 손실이 {with_particle(f'{float(expected):.5f}', '이어야/여야')} 하는데 "
                   f"{float(loss):.5f}입니다. 세 줄로 나눠 보세요: x_s 만들기, model(x_s, s), 목표와의 MSE.")
    return ("흐름 정합의 학습은 '곧은 선 위의 한 점에서 그 선의 속도 맞히기'입니다. "
            "DDPM의 손실과 다른 것은 섞는 식과 목표, 두 줄뿐입니다.")


def _euler_cases() -> list[tuple[torch.Tensor, torch.Tensor, float, float, Any]]:
    """Return (x, v, sigma, sigma_next, timestep, scheduler) cases from FlowMatchEulerDiscreteScheduler."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    generator = torch.Generator().manual_seed(0)
    cases = []
    for shift in (1.0, 3.0):
        scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
        scheduler.set_timesteps(8)
        for index in (0, 3, 7):
            x = torch.randn(2, 4, 4, 4, generator=generator)
            v = torch.randn(2, 4, 4, 4, generator=generator)
            cases.append((x, v, float(scheduler.sigmas[index]), float(scheduler.sigmas[index + 1]),
                          (scheduler, index)))
    return cases


@checker
def check_flow_euler_step(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x, v, sigma, sigma_next)`` is FlowMatchEulerDiscreteScheduler's step.

    Compared with diffusers' ``FlowMatchEulerDiscreteScheduler.step`` (8 steps, shift 1 and 3)
    within 1e-5 at the first, a middle and the last step. Recognised mistakes: the step's sign
    (sigma − sigma_next), a fixed step of 1/8 (right only without shift), and x − v (one step of
    the whole way).
    Used in 11_flow_matching.
    """
    for x, v, sigma, sigma_next, (scheduler, index) in _euler_cases():
        got = call(fn, x.clone(), v.clone(), sigma, sigma_next)
        expect_tensor(got, tuple(x.shape), "다음 x")
        scheduler._step_index = index  # the scheduler's own step, at this index
        expected = scheduler.step(v, scheduler.timesteps[index], x).prev_sample
        if close(got, expected):
            continue
        expect(not close(got, x + (sigma - sigma_next) * v),
               "걸음의 부호가 반대입니다. σ는 줄어드니 (σ_next − σ)는 음수이고, x는 속도의 반대쪽(그림 쪽)으로 갑니다.")
        expect(not close(got, x - v / 8),
               "걸음 크기를 1/8로 고정했습니다. 시프트가 있으면 σ 사이의 간격이 걸음마다 다릅니다: σ_next − σ를 쓰세요.")
        expect(not close(got, x - v),
               "한 걸음에 끝까지(σ = 0까지) 갔습니다. 이번 걸음의 간격 σ_next − σ만큼만 가세요.")
        raise Hint(f"σ = {sigma:.3f} → {sigma_next:.3f}에서 scheduler.step과 다릅니다. "
                   "오일러 한 걸음은 x + (σ_next − σ)·v입니다.")
    return ("오일러 한 걸음은 x + (σ_next − σ)·v, 한 줄입니다. FlowMatchEulerDiscreteScheduler.step이 "
            "하는 일이 바로 이것이고, 시프트는 σ들의 간격만 바꿉니다.")


def reflow_straightness(net: Any, n: int = 256, steps: int = 4, seed: int = 0) -> float:
    """Return the mean straightness of ``net``'s Euler paths from ``n`` seeded 2-D noise points.

    The measurement of 11's exercise 3: ``torch.randn(n, 2, generator=manual_seed(seed))``,
    ``steps`` Euler steps from s = 1 to 0 with ``net(cat([x, s]))`` as the velocity, and per point
    |end − start| / (sum of the step lengths), averaged.
    Used by helpers.checks.flow_matching (no notebook calls it).
    """
    from helpers.shapes.points import path_straightness

    x = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
    sigmas = torch.linspace(1, 0, steps + 1)
    path = [x]
    with torch.no_grad():
        for s, s_next in zip(sigmas[:-1], sigmas[1:], strict=True):
            x = x + (s_next - s) * net(torch.cat([x, s.expand(len(x), 1)], dim=1))
            path.append(x)
    return path_straightness(torch.stack(path))


@checker
def check_reflow_straightness(answer: Any, net: Any) -> str:
    """Return a true Verdict if ``answer`` is the straightness of ``net``'s 4-step paths, to 0.01.

    The checker re-runs the measurement (``reflow_straightness``: 256 points from seed 0, 4 Euler
    steps) and accepts an answer within 0.01 (the two decimals asked for). Recognised
    mistakes: a value of 0 or less, one above 1 (the ratio turned upside down, length / chord),
    and the 32-step paths measured instead of 4. Values out of range are answered before the
    model is run.
    Used in 11_flow_matching.
    """
    value = as_number(answer, "직진성")
    expect(value > 0, f"직진성은 곧은 거리 ÷ 걸은 길이라 0보다 큽니다. {with_particle(f'{value:g}', '은/는')} 아닙니다.")
    expect(value <= 1.01, f"직진성은 곧은 거리 ÷ 걸은 길이라 1 이하입니다. {with_particle(f'{value:g}', '은/는')} 그보다 "
                          "큽니다: 걸은 길이 ÷ 곧은 거리로 거꾸로 나누지 않았는지 확인하세요.")
    right = reflow_straightness(net)
    if abs(value - right) <= 0.01:
        return (f"4걸음 경로의 직진성은 {right:.3f}입니다 (1이면 곧은 선). 1.1절 표의 첫 모델과 비교해 보세요: "
                "곧을수록 큰 걸음의 오일러 방법이 덜 틀리니, 적은 걸음으로 됩니다.")
    expect(abs(value - reflow_straightness(net, steps=32)) > 0.005,
           "32걸음 경로를 잰 것 같습니다. 연습은 오일러 4걸음입니다.")
    raise Hint(f"{with_particle(f'{value:g}', '은/는')} 다시 잰 값과 0.01 넘게 다릅니다. seed 0의 노이즈 256개, "
               "4걸음, 점마다 |끝 − 처음| ÷ (걸음마다 움직인 거리의 합)의 평균인지 확인하세요.")
