"""Exercise checkers of 02_forward_diffusion: the closed form of q(x_t | x_0) and where the SNR falls below 1.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import as_integer, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_q_sample(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x0, t, noise, alphas_cumprod)`` is the closed form of q(x_t | x_0).

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, with a batch of different t, compared
    with ``DDPMScheduler.add_noise``.
    Used in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([0, 10, 500, 999])
    xt = call(fn, x0, t, noise, scheduler.alphas_cumprod)
    expect_tensor(xt, (4, 3, 8, 8), "x_t")
    expected = scheduler.add_noise(x0, noise, t)
    wrong_t = [int(t[i]) for i in range(len(t)) if not close(xt[i], expected[i], atol=1e-4)]
    expect(not wrong_t, f"t = {wrong_t}에서 값이 다릅니다. 계수는 alphas_cumprod의 제곱근(sqrt)이고, "
                        "t마다 다른 값을 (B, 1, 1, 1) 모양으로 바꿔 곱합니다.")
    return "한 번의 곱셈과 덧셈으로 어느 t로든 바로 갈 수 있습니다."


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
    from diffusers import DDPMScheduler

    kwargs = {"beta_schedule": schedule}
    if schedule == "scaled_linear":
        kwargs.update(beta_start=0.00085, beta_end=0.012)
    expected = snr_crossing(DDPMScheduler(num_train_timesteps=1000, **kwargs).alphas_cumprod)
    t = as_integer(answer, "답")
    expect(t != expected - 1,
           f"t = {t}에서는 SNR이 아직 1 이상입니다. 1보다 *작아지는* 첫 t입니다.")
    expect(t == expected,
           f"{schedule} 일정에서 SNR이 처음으로 1보다 작아지는 t는 {with_particle(t, '이/가')} 아닙니다.")
    return f"{schedule} 일정에서는 t = {expected}부터 잡음이 신호보다 셉니다."
