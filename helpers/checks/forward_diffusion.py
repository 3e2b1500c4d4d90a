"""Exercise checkers of 02_forward_diffusion: the closed form of q(x_t | x_0) and the schedules' SNR.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from helpers.checks.api import (
    Hint,
    as_integer,
    as_number,
    call,
    checker,
    close,
    expect,
    expect_tensor,
)
from helpers.checks.korean_particles import with_particle

#: The three schedules of 02, as ``DDPMScheduler`` keyword arguments (1000 steps each).
SCHEDULES = {
    "linear": {"beta_schedule": "linear"},
    "scaled_linear": {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
    "squaredcos_cap_v2": {"beta_schedule": "squaredcos_cap_v2"},
}


def _alphas_cumprod(schedule: str) -> torch.Tensor:
    """Return the 1000 ``alphas_cumprod`` of one of the three schedules of 02."""
    from diffusers import DDPMScheduler

    if schedule not in SCHEDULES:
        raise Hint(f"스케줄 이름은 {', '.join(SCHEDULES)} 중 하나입니다 (받은 것: {schedule!r}).")
    return DDPMScheduler(num_train_timesteps=1000, **SCHEDULES[schedule]).alphas_cumprod


def _q_sample_mistakes(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor,
                       abar: torch.Tensor) -> dict[str, torch.Tensor]:
    """Return {hint: x_t} for the usual wrong ways to write the closed form."""
    a = abar[t].view(-1, 1, 1, 1)
    a_again = abar.cumprod(0)[t].view(-1, 1, 1, 1)
    a_first = abar[t[0]]
    a_before = abar[t - 1].view(-1, 1, 1, 1)
    return {
        "제곱근(sqrt)이 빠졌습니다: x_0에도 노이즈에도 계수의 제곱근을 곱합니다. "
        "분산이 ᾱ_t, 1 − ᾱ_t이면 곱하는 배율(표준편차)은 그 제곱근입니다.":
            a * x0 + (1 - a) * noise,
        "노이즈의 계수에 제곱근(sqrt)이 빠졌습니다: 노이즈의 분산이 1 − ᾱ_t가 되려면 "
        "곱하는 배율은 그 제곱근이어야 합니다.": a.sqrt() * x0 + (1 - a) * noise,
        "x_0의 계수에 제곱근(sqrt)이 빠졌습니다: 신호의 분산이 ᾱ_t가 되려면 곱하는 배율은 그 "
        "제곱근이어야 합니다.": a * x0 + (1 - a).sqrt() * noise,
        "두 계수가 뒤바뀌었습니다: t = 0에서는 x_t가 거의 x_0이어야 하므로 x_0 쪽 계수가 1에 "
        "가깝습니다.": (1 - a).sqrt() * x0 + a.sqrt() * noise,
        "노이즈를 빼고 있습니다: 노이즈는 더합니다 (부호를 확인하세요).": a.sqrt() * x0 - (1 - a).sqrt() * noise,
        "alphas_cumprod에 누적곱(cumprod)을 한 번 더 했습니다: 인자로 받은 값이 이미 ᾱ_t "
        "(누적곱)이니 t번째 값을 그대로 씁니다.": a_again.sqrt() * x0 + (1 - a_again).sqrt() * noise,
        "배치의 모든 그림에 첫 그림의 t만 썼습니다: 그림마다 자기 t의 ᾱ_t를 꺼내 "
        "(B, 1, 1, 1) 모양으로 바꿔 곱하세요.": a_first.sqrt() * x0 + (1 - a_first).sqrt() * noise,
        "t가 하나 어긋났습니다 (한 걸음 앞의 값 ᾱ_{t-1}, 곧 alphas_cumprod[t - 1]을 썼습니다): 시간 번호는 0부터 세고 "
        "alphas_cumprod[t]가 바로 ᾱ_t입니다.": a_before.sqrt() * x0 + (1 - a_before).sqrt() * noise,
    }


@checker
def check_q_sample(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x0, t, noise, alphas_cumprod)`` is the closed form of q(x_t | x_0).

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, with a batch of four different t
    (0, 10, 500, 999), compared with ``DDPMScheduler.add_noise`` within 1e-4. Recognised
    mistakes: a square root forgotten (on both, on one coefficient), the coefficients swapped,
    the noise subtracted, ``cumprod`` applied to ``alphas_cumprod`` again, the first picture's t
    used for the whole batch, t off by one, and ``alphas_cumprod[t]`` not reshaped to
    (B, 1, 1, 1) (a broadcasting error).
    Used in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(num_train_timesteps=1000)
    abar = scheduler.alphas_cumprod
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([0, 10, 500, 999])
    try:
        xt = call(fn, x0.clone(), t.clone(), noise.clone(), abar.clone())
    except Hint as hint:
        if "must match the size" in str(hint) or "broadcast" in str(hint):
            raise Hint("모양이 맞지 않아 곱할 수 없습니다: alphas_cumprod[t]는 모양이 (B,)라서 "
                       "(B, C, H, W)인 x0와 곱하려면 (B, 1, 1, 1)로 바꿔야 합니다 "
                       "(.view(-1, 1, 1, 1)).") from None
        raise
    expect_tensor(xt, (4, 3, 8, 8), "x_t")
    expected = scheduler.add_noise(x0, noise, t)
    if close(xt, expected, atol=1e-4):
        return "한 번의 곱셈과 덧셈으로 어느 t로든 바로 갈 수 있습니다."
    for hint, wrong in _q_sample_mistakes(x0, t, noise, abar).items():
        if close(xt, wrong, atol=1e-4):
            raise Hint(hint)
    wrong_t = [int(t[i]) for i in range(len(t)) if not close(xt[i], expected[i], atol=1e-4)]
    raise Hint(f"t = {wrong_t}에서 값이 다릅니다. x_0와 노이즈에 곱하는 두 계수가 각각 무엇이어야 "
               "분산이 합쳐서 1이 되는지 생각해 보세요.")


def snr_crossing(alphas_cumprod: torch.Tensor, level: float = 1.0) -> int:
    """Return the first timestep whose signal-to-noise ratio abar / (1 - abar) is below ``level``.

    Used by helpers.checks.forward_diffusion (no notebook calls it).
    """
    snr = alphas_cumprod / (1 - alphas_cumprod)
    below = torch.nonzero(snr < level)
    if len(below) == 0:
        raise ValueError(f"the SNR never falls below {level}")
    return int(below[0])


@checker
def check_snr_crossing(answer: int, schedule: str = "linear") -> str:
    """Return a true Verdict if ``answer`` is the first t where SNR < 1 for ``schedule`` (1000 steps).

    Used in 02_forward_diffusion.
    """
    expected = snr_crossing(_alphas_cumprod(schedule))
    t = as_integer(answer, "답")
    expect(t != expected - 1,
           f"t = {t}에서는 SNR이 아직 1 이상입니다. 1보다 *작아지는* 첫 t입니다.")
    expect(t == expected,
           f"{schedule} 스케줄에서 SNR이 처음으로 1보다 작아지는 t는 {with_particle(t, '이/가')} 아닙니다.")
    return f"{schedule} 스케줄에서는 t = {expected}부터 노이즈가 신호보다 셉니다."


def snr_above_one_percent(alphas_cumprod: torch.Tensor) -> float:
    """Return the percentage of timesteps whose SNR abar / (1 - abar) is above 1.

    Used by helpers.checks.forward_diffusion (no notebook calls it).
    """
    snr = alphas_cumprod.double() / (1 - alphas_cumprod.double())
    return 100.0 * float((snr > 1).double().mean())


@checker
def check_snr_share(answer: dict[str, Any]) -> str:
    """Return a true Verdict if ``answer`` gives, per schedule, the percent of the 1000 steps with SNR > 1.

    ``answer`` is {schedule name: percent} for "linear", "scaled_linear" and
    "squaredcos_cap_v2". The checker recomputes each share from the schedule itself; a value
    within 0.5 percentage points is right (so a percentage rounded to a whole number passes).
    Recognised mistakes: a fraction instead of a percent (0.26 for 26 %), the count of steps
    instead of a percent on a schedule whose count is not the percent, the share of steps with
    SNR < 1, and two schedules' values swapped.
    Used in 02_forward_diffusion.
    """
    expect(isinstance(answer, dict),
           "답은 {스케줄 이름: 퍼센트} 모양의 딕셔너리(dict)입니다, 예: "
           "{'linear': ..., 'scaled_linear': ..., 'squaredcos_cap_v2': ...}.")
    missing = [name for name in SCHEDULES if name not in answer]
    expect(not missing, f"{', '.join(missing)} 스케줄의 값이 없습니다.")
    truth = {name: snr_above_one_percent(_alphas_cumprod(name)) for name in SCHEDULES}
    got = {name: as_number(answer[name], f"{name}의 값") for name in SCHEDULES}
    for name, value in got.items():
        right = truth[name]
        if abs(value - right) <= 0.5:
            continue
        expect(abs(100 * value - right) > 0.5,
               f"{name}: {with_particle(f'{value:g}', '은/는')} 비율(0–1)입니다. 퍼센트(0–100)로 답하세요 (100을 곱합니다).")
        expect(abs(100 - value - right) > 0.5,
               f"{name}: {with_particle(f'{value:g}', '은/는')} SNR이 1보다 *작은* 걸음의 비율입니다. "
               "SNR > 1인 쪽을 세세요.")
        expect(abs(value / 10 - right) > 0.5,
               f"{name}: {with_particle(f'{value:g}', '은/는')} 걸음의 개수로 보입니다. 1000걸음 중 "
               "몇 퍼센트인지로 바꾸세요.")
        others = [other for other in SCHEDULES if other != name and abs(value - truth[other]) <= 0.5]
        expect(not others, f"{name}에 {others[0] if others else ''} 스케줄의 값을 넣은 것 같습니다. "
                           "스케줄과 값의 짝을 확인하세요.")
        raise Hint(f"{name} 스케줄의 값 {with_particle(f'{value:g}', '이/가')} 다시 잰 값과 0.5퍼센트포인트 "
                   "넘게 다릅니다. SNR = ᾱ/(1 − ᾱ)을 1000걸음 모두에서 계산해 1보다 큰 걸음을 "
                   "세어 보세요.")
    longest = max(truth, key=truth.get)
    return (f"{longest} 스케줄이 그림을 가장 오래 남깁니다 "
            f"({', '.join(f'{name} {truth[name]:.1f}%' for name in SCHEDULES)}).")
