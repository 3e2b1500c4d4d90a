"""Exercise checkers of 03_reverse_diffusion: the DDPM training loss and classifier-free guidance.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch

from helpers.checks.api import Hint, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


def _toy_model(x: torch.Tensor, t: torch.Tensor, **_: object) -> SimpleNamespace:
    """A fixed stand-in for a UNet: returns an object with ``.sample`` like diffusers models."""
    return SimpleNamespace(sample=0.5 * x + t.float().view(-1, 1, 1, 1) / 1000)


@checker
def check_ddpm_loss(fn: Callable) -> str:
    """Return a true Verdict if ``fn(model, x0, noise, t, scheduler)`` is the DDPM training loss.

    The loss: noise x0 to x_t with the scheduler, let the model predict the noise from
    (x_t, t), return the mean squared error to the true noise. Checked with a fixed toy
    model.
    Used in 03_reverse_diffusion.
    """
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([3, 250, 600, 990])
    loss = call(fn, _toy_model, x0, noise, t, scheduler)
    expect(isinstance(loss, torch.Tensor) and loss.numel() == 1,
           "손실(loss)은 숫자 하나(스칼라 텐서)여야 합니다: .mean()을 잊지 않았나요?")
    noisy = scheduler.add_noise(x0, noise, t)
    expected = torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, noise)
    if not close(loss.reshape(()), expected):
        hint = ""
        if close(loss.reshape(()), torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, x0)):
            hint = " 목표(target)가 x0입니다. 이 노트북의 모델은 잡음(noise)을 맞힙니다."
        raise Hint(f"손실이 {with_particle(f'{float(expected):.5f}', '이어야/여야')} 하는데 "
                   f"{float(loss):.5f}입니다.{hint}")
    return "DDPM 학습은 결국 '잡음 맞히기' 회귀(regression)입니다."


@checker
def check_guidance(fn: Callable) -> str:
    """Return a true Verdict if ``fn(noise_uncond, noise_cond, scale)`` is classifier-free guidance.

    guided = uncond + scale * (cond - uncond), checked at scales 0, 1 and 4.
    Used in 03_reverse_diffusion.
    """
    generator = torch.Generator().manual_seed(0)
    uncond = torch.randn(2, 3, 4, 4, generator=generator)
    cond = torch.randn(2, 3, 4, 4, generator=generator)
    for scale in (0.0, 1.0, 4.0):
        guided = call(fn, uncond, cond, scale)
        expect_tensor(guided, (2, 3, 4, 4), "guided")
        expect(close(guided, uncond + scale * (cond - uncond)),
               f"scale = {scale:g}에서 값이 다릅니다. scale = 0이면 조건 없는 예측, "
               "scale = 1이면 조건 있는 예측 그대로여야 합니다.")
    return "scale > 1은 조건 쪽으로 '더 멀리' 밉니다."
