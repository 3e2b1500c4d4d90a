"""Exercise checkers of 03_reverse_diffusion: the training loss, one DDIM step, guidance, when x̂_0 settles.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import torch

from helpers.checks.api import Hint, as_integer, call, checker, close, expect, expect_tensor
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
            hint = " 목표(target)가 x0입니다. 이 노트북의 모델은 노이즈(noise)를 맞힙니다."
        raise Hint(f"손실이 {with_particle(f'{float(expected):.5f}', '이어야/여야')} 하는데 "
                   f"{float(loss):.5f}입니다.{hint}")
    return "DDPM 학습은 결국 '노이즈 맞히기' 회귀(regression)입니다."


def _ddim_cases() -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]], torch.Tensor]:
    """Return the fixed inputs of check_ddim_step: x_t, eps, the (t, t_prev) pairs and alphas_cumprod."""
    from diffusers import DDPMScheduler

    generator = torch.Generator().manual_seed(0)
    x_t = torch.randn(2, 3, 8, 8, generator=generator)
    eps = torch.randn(2, 3, 8, 8, generator=generator)
    pairs = [(980, 960), (500, 480), (100, 80), (0, -20)]  # DDIM with 50 steps: 20 apart
    return x_t, eps, pairs, DDPMScheduler(num_train_timesteps=1000).alphas_cumprod


def _ddim_reference(x_t: torch.Tensor, eps: torch.Tensor, t: int, clip: bool) -> torch.Tensor:
    """Return diffusers' ``DDIMScheduler.step`` (50 steps, eta 0) from ``x_t`` at ``t``."""
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler(num_train_timesteps=1000, clip_sample=clip)
    scheduler.set_timesteps(50)
    return scheduler.step(eps, t, x_t).prev_sample


def _ddim_mistakes(x_t: torch.Tensor, eps: torch.Tensor, t: int, t_prev: int,
                   abar: torch.Tensor) -> dict[str, torch.Tensor]:
    """Return {hint: x_prev} for the usual wrong ways to write one DDIM step."""
    a = abar[t]
    a_prev = abar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    a_wrapped = abar[t_prev]  # abar[-20]: Python's negative index, the end of the schedule
    x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
    return {
        "x̂_0를 구할 때 노이즈를 더했습니다: x_t에서 노이즈 몫을 *빼고* 나눠야 원래 그림 쪽으로 갑니다.":
            a_prev.sqrt() * (x_t + (1 - a).sqrt() * eps) / a.sqrt() + (1 - a_prev).sqrt() * eps,
        "제곱근(sqrt)이 빠졌습니다: ᾱ은 분산의 비율이라 그림과 노이즈에 곱하는 배율은 "
        "ᾱ과 1 − ᾱ의 제곱근입니다.":
            a_prev * (x_t - (1 - a) * eps) / a + (1 - a_prev) * eps,
        "x̂_0는 맞지만 t_prev로 다시 보낼 때 제곱근(sqrt)이 빠졌습니다.":
            a_prev * x0 + (1 - a_prev) * eps,
        "ᾱ_t와 다음 걸음의 ᾱ(t_prev의 값)가 뒤바뀌었습니다: x̂_0는 지금의 x_t가 있는 t의 ᾱ_t로 구하고, "
        "다시 노이즈를 입힐 때는 가려는 t_prev의 ᾱ를 씁니다.":
            a.sqrt() * (x_t - (1 - a_prev).sqrt() * eps) / a_prev.sqrt() + (1 - a).sqrt() * eps,
        "x̂_0만 돌려주었습니다: 한 걸음은 t_prev의 x로 가는 것이므로, x̂_0에 t_prev만큼의 "
        "노이즈(같은 ε̂)를 다시 입혀야 합니다.": x0,
        "x̂_0를 ᾱ_{t_prev}의 제곱근만큼 줄였지만 노이즈 몫(ε̂ 쪽)을 더하지 않았습니다.": a_prev.sqrt() * x0,
        "마지막 걸음(t_prev < 0)에서 틀렸습니다: alphas_cumprod[-20]은 Python에서 목록의 *끝*"
        "(거의 0)을 가리킵니다. t_prev가 음수이면 ᾱ = 1 (노이즈 없음)을 쓰세요.":
            a_wrapped.sqrt() * x0 + (1 - a_wrapped).sqrt() * eps,
    }


@checker
def check_ddim_step(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x_t, eps, t, t_prev, alphas_cumprod)`` is one deterministic DDIM step.

    Compared with diffusers' ``DDIMScheduler.step`` (50 steps, eta = 0) within 1e-4 on seeded
    inputs at t = 980, 500, 100 and 0 (t_prev = t − 20, and ᾱ = 1 when t_prev < 0). Both
    the step without clipping x̂_0 (``clip_sample=False``) and with it (diffusers' default) are
    right. Recognised mistakes: the noise added instead of subtracted, a square root forgotten
    (everywhere, or when re-noising), ᾱ_t and ᾱ_{t_prev} swapped, x̂_0 returned without
    re-noising, the noise direction left out, and t_prev < 0 read as a negative index.
    Used in 03_reverse_diffusion.
    """
    x_t, eps, pairs, abar = _ddim_cases()
    wrong_pairs, hints = [], []
    for t, t_prev in pairs:
        got = call(fn, x_t.clone(), eps.clone(), t, t_prev, abar.clone())
        expect_tensor(got, tuple(x_t.shape), "x_prev")
        if any(close(got, _ddim_reference(x_t, eps, t, clip), atol=1e-4) for clip in (False, True)):
            continue
        wrong_pairs.append(t)
        hints += [hint for hint, wrong in _ddim_mistakes(x_t, eps, t, t_prev, abar).items()
                  if close(got, wrong, atol=1e-4)]
    if wrong_pairs:
        if hints:
            raise Hint(hints[0])
        raise Hint(f"t = {wrong_pairs}에서 diffusers의 DDIMScheduler.step과 다릅니다. 두 단계로 나눠 보세요: "
                   "x_t와 ε̂로 x̂_0를 구하고, 그 x̂_0에 t_prev만큼의 노이즈를 같은 ε̂로 다시 입힙니다.")
    return ("DDIM의 한 걸음은 'x̂_0를 맞히고, 한 단계 덜 시끄럽게 다시 섞기'입니다. "
            "scheduler.step()이 하는 일이 바로 이것입니다.")


def _read_x0_trajectory(model: Any, steps: int, seed: int, label: int) -> tuple[list[int], list[dict],
                                                                                  list[dict], dict]:
    """Return (timesteps, readings of x̂_0, readings of x_t, reading of the final picture).

    The same loop as 03's ``sample()`` without guidance: DDIM, ``steps`` steps, one picture
    from ``torch.Generator().manual_seed(seed)`` on the CPU, moved to the model's device.
    """
    from diffusers import DDIMScheduler

    from helpers.shapes import reader

    def picture(x: torch.Tensor) -> Any:
        pixels = ((x[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return pixels.permute(1, 2, 0).cpu().numpy()

    scheduler = DDIMScheduler(num_train_timesteps=1000)
    scheduler.set_timesteps(steps)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 3, model.config.sample_size, model.config.sample_size,
                    generator=generator).to(device)
    labels = torch.full((1,), label, device=device)
    ts, x0_reads, xt_reads = [], [], []
    with torch.no_grad():
        for t in scheduler.timesteps:
            out = scheduler.step(model(x, t, class_labels=labels).sample, t, x, generator=generator)
            ts.append(int(t))
            x0_reads.append(reader.read(picture(out.pred_original_sample)))
            xt_reads.append(reader.read(picture(x)))
            x = out.prev_sample
    return ts, x0_reads, xt_reads, reader.read(picture(x))


def decided_t(ts: list[int], readings: list[dict], final: dict) -> int:
    """Return the largest t from which every later reading equals ``final`` (-1 if only the final does).

    Used by helpers.checks.reverse_diffusion (no notebook calls it).
    """
    answer = -1
    for t, read in zip(reversed(ts), reversed(readings), strict=True):
        if read != final:
            break
        answer = t
    return answer


@checker
def check_decided_step(answer: int, model: Any, seed: int = 3, steps: int = 50, label: int = 3) -> str:
    """Return a true Verdict if ``answer`` is the t from which x̂_0 reads as the final picture to the end.

    The checker re-runs the measurement: DDIM with ``steps`` steps from seed ``seed`` and
    ``label`` (3 = no label) with ``model``, reads every step's predicted x̂_0 and the final
    picture with the Shapes reader (all five attributes), and finds the largest t from which
    every reading equals the final one. The run is deterministic on one device, so the
    tolerance is zero: the answer must be that t. Recognised mistakes: the step's index
    (0–49) instead of t, the first t at which the reading matched once, x_t read instead of
    x̂_0, and the shape alone compared.
    Used in 03_reverse_diffusion.
    """
    t_answer = as_integer(answer, "답")
    ts, x0_reads, xt_reads, final = _read_x0_trajectory(model, steps, seed, label)
    right = decided_t(ts, x0_reads, final)
    if t_answer == right:
        return (f"t = {right}부터 x̂_0의 판독이 끝까지 그대로입니다 ({len(ts)}걸음 중 "
                f"{ts.index(right) + 1}번째 걸음). 그 뒤의 걸음들은 경계와 색만 다듬습니다.")
    expect(not (right in ts and t_answer == ts.index(right)),
           f"{with_particle(t_answer, '은/는')} 걸음의 순번(index)입니다. 답은 그 걸음의 시간 t "
           "(trajectory의 첫 값)입니다.")
    first_match = next((t for t, read in zip(ts, x0_reads, strict=True) if read == final), None)
    expect(t_answer != first_match,
           f"t = {t_answer}에서 처음 최종 판독과 같아지지만, 그 뒤에 판독이 다시 바뀝니다. "
           "'그 뒤로 끝까지 같은' 첫 t를 찾으세요.")
    expect(t_answer != decided_t(ts, xt_reads, final),
           "x_t(노이즈 낀 그림)를 읽은 것 같습니다. 모델이 예측한 x̂_0를 읽으세요.")
    shape_only = decided_t(ts, [{"shape": r["shape"]} for r in x0_reads], {"shape": final["shape"]})
    expect(t_answer != shape_only,
           "모양(shape)만 비교한 것 같습니다. 판독기가 읽는 다섯 속성(모양, 크기, 색, 자리, 배경)이 "
           "모두 같아야 합니다.")
    raise Hint(f"다시 재 보니 {with_particle(t_answer, '이/가')} 아닙니다. 마지막 걸음부터 거꾸로 올라가며 "
               "판독이 최종 그림의 판독과 같은 동안의 t를 따라가 보세요.")


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
