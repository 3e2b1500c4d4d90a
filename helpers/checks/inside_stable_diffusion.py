"""Exercise checkers of 04_inside_stable_diffusion: the predicted clean latent and the latent shape.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from helpers.checks.api import brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_predicted_x0(fn: Callable) -> str:
    """Return a true Verdict if ``fn(z_t, noise_pred, alpha_bar)`` is the predicted clean latent x0_hat.

    x0_hat = (z_t - sqrt(1 - alpha_bar) * noise_pred) / sqrt(alpha_bar), checked at three
    values of alpha_bar on fixed latents shaped like SD's (1, 4, 8, 8).
    Used in 04_inside_stable_diffusion.
    """
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(1, 4, 8, 8, generator=generator)
    noise = torch.randn(1, 4, 8, 8, generator=generator)
    for value in (0.9, 0.3, 0.01):
        alpha_bar = torch.tensor(value)
        z_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        answer = call(fn, z_t, noise, alpha_bar)
        expect_tensor(answer, (1, 4, 8, 8), "x0_hat")
        expect(close(answer, x0, atol=1e-4),
               f"alpha_bar = {value}에서 x0를 되찾지 못했습니다. 잡음 항을 빼고 sqrt(alpha_bar)로 "
               "나누었나요? (alpha_bar가 아니라 그 제곱근입니다.)")
    return "잡음 예측이 맞으면 어느 걸음에서든 최종 그림의 추측을 얻을 수 있습니다."


@checker
def check_latent_shape(fn: Callable) -> str:
    """Return a true Verdict if ``fn(height, width, scale_factor, channels)`` is the latent shape (c, h, w).

    Checked on SD 1.5 sizes (512x512, 768x512 portrait), SD's 4 channels and other factors.
    Used in 04_inside_stable_diffusion.
    """
    cases = [((512, 512, 8, 4), (4, 64, 64)), ((768, 512, 8, 4), (4, 96, 64)),
             ((64, 64, 8, 4), (4, 8, 8)), ((32, 48, 4, 16), (16, 8, 12))]
    for (h, w, f, c), expected in cases:
        answer = call(fn, h, w, f, c)
        if isinstance(answer, (torch.Tensor, np.ndarray)) and answer.ndim == 1:
            answer = answer.tolist()
        expect(isinstance(answer, (tuple, list)) and tuple(answer) == expected,
               f"height={h}, width={w}, scale_factor={f}, {with_particle(f'channels={c}', '이면/면')} "
               f"{expected}인데 {with_particle(brief(answer), '을/를')} 돌려주었습니다. "
               "순서는 (채널, 높이, 너비)입니다.")
    return "512×512 그림은 4×64×64 잠재 표현: 숫자가 48배 적습니다."
