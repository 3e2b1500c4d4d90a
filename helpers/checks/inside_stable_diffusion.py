"""Exercise checkers of 04_inside_stable_diffusion: predicted x0, latent shape, when x0 settles.

The predicted clean latent, the latent shape, and a measurement of how early the prediction
x0_hat settles.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from helpers.checks.api import as_integer, brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


def _latents() -> tuple[torch.Tensor, torch.Tensor]:
    """Return fixed (x0, noise), each shaped like SD's latents (1, 4, 8, 8)."""
    generator = torch.Generator().manual_seed(0)
    return torch.randn(1, 4, 8, 8, generator=generator), torch.randn(1, 4, 8, 8, generator=generator)


@checker
def check_predicted_x0(fn: Callable) -> str:
    """Return a true Verdict if ``fn(z_t, noise_pred, alpha_bar)`` is the predicted clean latent x0_hat.

    x0_hat solves z_t = sqrt(alpha_bar) * x0 + sqrt(1 - alpha_bar) * eps for x0; checked within
    1e-4 at three values of alpha_bar on fixed latents shaped like SD's (1, 4, 8, 8).
    Recognises: alpha_bar used where its square root belongs, the noise term added instead of
    subtracted, the noise term forgotten, no division at all.
    Used in 04_inside_stable_diffusion.
    """
    x0, noise = _latents()
    for value in (0.9, 0.3, 0.01):
        alpha_bar = torch.tensor(value)
        z_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        answer = call(fn, z_t, noise, alpha_bar)
        expect_tensor(answer, (1, 4, 8, 8), "x0_hat")
        if close(answer, x0, atol=1e-4):
            continue
        a = alpha_bar
        expect(not close(answer, (z_t - (1 - a) * noise) / a, atol=1e-4)
               and not close(answer, (z_t - (1 - a).sqrt() * noise) / a, atol=1e-4)
               and not close(answer, (z_t - (1 - a) * noise) / a.sqrt(), atol=1e-4),
               f"alpha_bar = {value}에서 틀렸습니다: 식의 계수는 alpha_bar가 아니라 그 제곱근 "
               "sqrt(alpha_bar), sqrt(1 - alpha_bar)입니다.")
        expect(not close(answer, (z_t + (1 - a).sqrt() * noise) / a.sqrt(), atol=1e-4),
               "잡음 항의 부호가 반대입니다: z_t에는 잡음이 더해져 있으니 되돌릴 때는 빼야 합니다.")
        expect(not close(answer, z_t / a.sqrt(), atol=1e-4),
               "잡음 항을 빼지 않았습니다: z_t에서 잡음 몫을 먼저 덜어 내세요.")
        expect(not close(answer, z_t - (1 - a).sqrt() * noise, atol=1e-4),
               "잡음을 뺀 뒤 나누지 않았습니다: 남은 것은 x0에 어떤 계수가 곱해진 것일까요?")
        expect(False, f"alpha_bar = {value}에서 x0를 되찾지 못했습니다. z_t의 식을 x0에 대해 "
               "풀어 보세요 (x0 = ... 꼴로).")
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


def _settling(pipe: Any, prompt: str, steps: int, guidance: float, seed: int
              ) -> tuple[list[float], list[float], list[int]]:
    """Return, per step, the relative distance of x0_hat and of z after the step to the final latent.

    Runs ``pipe`` once (the scheduler's ``step`` wrapped to record its outputs), seeded the way
    ``helpers.generate`` seeds it, and returns the timesteps too.
    """
    scheduler = pipe.scheduler
    original = scheduler.step
    predicted, after = [], []

    def recording_step(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        x0 = out.pred_original_sample if hasattr(out, "pred_original_sample") else out[1]
        z = out.prev_sample if hasattr(out, "prev_sample") else out[0]
        predicted.append(x0.detach().float().cpu())
        after.append(z.detach().float().cpu())
        return out

    patched_before = "step" in vars(scheduler)
    scheduler.step = recording_step
    try:
        with torch.no_grad():
            pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, output_type="latent",
                 generator=torch.Generator("cpu").manual_seed(seed))
    finally:
        if patched_before:
            scheduler.step = original
        else:
            del scheduler.step  # back to the class's method
    final = after[-1]
    norm = float(final.norm())
    return ([float((x - final).norm()) / norm for x in predicted],
            [float((z - final).norm()) / norm for z in after],
            [int(t) for t in scheduler.timesteps])


def _first_below(values: list[float], threshold: float) -> int | None:
    """Return the first index whose value is below ``threshold``."""
    return next((i for i, v in enumerate(values) if v < threshold), None)


@checker
def check_x0_settles(answer: object, pipe: Any, prompt: str, steps: int, guidance: float,
                     seed: int, threshold: float = 0.1) -> str:
    """Return a true Verdict if ``answer`` is the first step whose x0_hat is within ``threshold`` of the end.

    The checker re-measures: it generates once with ``pipe`` (same prompt, steps, guidance and
    seed as the notebook, the latents kept), records each step's predicted x0_hat
    (``pred_original_sample``), and finds the first step index i (0-based, in the order of
    ``scheduler.timesteps``) at which ||x0_hat_i - z_final|| / ||z_final|| < threshold.
    Tolerance: 0.005 in that relative distance, so the x0_hat recovered from the callback's
    latents (their rounding, larger in float16) gives the same answer; an index i is accepted
    when its distance is below threshold + 0.005 and the one before it is at least
    threshold - 0.005. Recognises:
    counting from 1, the timestep t instead of the index, the latent z_t instead of x0_hat.
    Used in 04_inside_stable_diffusion.
    """
    value = as_integer(answer, "답")
    x0_dist, z_dist, timesteps = _settling(pipe, prompt, steps, guidance, seed)
    right = _first_below(x0_dist, threshold)
    expect(right is not None, f"다시 재 보니 어느 걸음의 x0_hat도 {threshold:g} 안에 들어오지 않습니다.")

    def accepted(i: int) -> bool:
        return (0 <= i < len(x0_dist) and x0_dist[i] < threshold + 0.005
                and (i == 0 or x0_dist[i - 1] >= threshold - 0.005))

    if accepted(value):
        return (f"걸음 {value}(t = {timesteps[value]}, {steps}걸음 중)에서 예측 x̂0는 최종 잠재 표현과 "
                f"{x0_dist[value]:.0%}밖에 차이 나지 않습니다. 같은 걸음의 z_t는 아직 "
                f"{z_dist[value]:.0%} 떨어져 있습니다: 예측 x̂0는 z_t보다 훨씬 먼저 자리 잡습니다.")
    expect(value - 1 != right,
           "걸음을 1부터 셌습니다: x0_hats의 번호(0부터)로 답하세요.")
    expect(not (value in timesteps and value >= len(x0_dist)),
           f"{with_particle(value, '은/는')} 시간 t입니다: t가 아니라 걸음의 번호(0부터)를 답하세요.")
    z_first = _first_below(z_dist, threshold)
    expect(not (z_first is not None and value in (z_first, z_first + 1) and not accepted(value)),
           "x0_hat이 아니라 잡음 낀 잠재 표현 z_t로 잰 것 같습니다: 걸음마다의 예측 x0_hat과 마지막 "
           "잠재 표현을 비교하세요.")
    expect(0 <= value < len(x0_dist),
           f"걸음 번호는 0부터 {len(x0_dist) - 1}까지입니다 (받은 것: {value}).")
    distance = x0_dist[value]
    relation = "아직 넘습니다" if distance >= threshold else "이미 안쪽이지만, 더 이른 걸음이 있습니다"
    expect(False, f"걸음 {value}의 상대 거리는 {with_particle(f'{distance:.3f}', '으로/로')} "
                  f"{with_particle(f'{threshold:g}', '을/를')} {relation}. "
           "걸음 0부터 차례로 재 보세요.")
    return ""
