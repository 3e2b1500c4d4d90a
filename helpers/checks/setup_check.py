"""Exercise checkers of 00_setup_check: starting noise per seed, and the latent's size measured.

Reproducible starting noise for a batch of seeds, and a measurement of how many fewer numbers
the VAE's latents hold than the picture.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from helpers.checks.api import as_number, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle
from helpers.shapes import Shape, render


def _noise(seeds: list[int], shape: tuple[int, ...]) -> torch.Tensor:
    """Return one row of standard normal noise per seed, each from its own CPU generator."""
    return torch.stack([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(s)) for s in seeds])


@checker
def check_starting_noise(fn: Callable) -> str:
    """Return a true Verdict if ``fn(seeds, shape)`` gives, per seed, the noise that seed alone gives.

    The reference row i is ``torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seeds[i]))``,
    the starting noise a pipeline draws for that seed; the answer is compared exactly (within
    1e-6, any float dtype) on seeds [0, 1, 42] and [7] with shape (4, 8, 8). Recognises: no
    seed (a different answer on each call), one generator for the whole batch, the position i
    used instead of the seed's value, the global ``torch.manual_seed`` (right numbers, but
    every later random draw in the notebook changes too), rows joined in the wrong shape.
    Used in 00_setup_check.
    """
    shape = (4, 8, 8)
    seeds = [0, 1, 42]
    state = torch.get_rng_state()
    try:
        first = call(fn, list(seeds), shape)
        changed_global = not torch.equal(torch.get_rng_state(), state)
        torch.manual_seed(12345)  # whatever the global state, a seeded answer does not depend on it
        second = call(fn, list(seeds), shape)
    finally:
        torch.set_rng_state(state)
    expect_tensor(first, (len(seeds), *shape), "결과",
                  " 시드마다 (4, 8, 8) 잡음을 하나씩 뽑아 새 첫 차원으로 쌓으세요 (torch.stack).")
    expect(isinstance(second, torch.Tensor) and close(first, second.to(first.dtype), atol=1e-6),
           "같은 시드로 두 번 불렀는데 결과가 다릅니다: 잡음을 시드로 고정한 생성기(generator)에서 "
           "뽑아야 합니다.")
    expected = _noise(seeds, shape)
    if close(first, expected, atol=1e-6):
        expect(not changed_global,
               "값은 맞지만 torch.manual_seed는 전역(global) 난수 생성기를 바꿉니다: 이 함수를 부른 뒤 "
               "노트북의 다른 모든 난수도 함께 바뀝니다. 시드마다 torch.Generator를 따로 만들어 쓰세요.")
        one = call(fn, [7], shape)
        expect(isinstance(one, torch.Tensor) and close(one, _noise([7], shape), atol=1e-6),
               "시드 하나([7])로 불렀을 때 결과가 다릅니다: seeds의 길이가 1이어도 되게 쓰세요.")
        return "시드마다 생성기가 따로 있으니 그림 하나하나가 배치 안의 자리와 상관없이 재현됩니다."
    expect(close(first[0], expected[0], atol=1e-6),
           "첫 시드의 잡음부터 다릅니다: 생성기를 시드로 고정했나요? torch.Generator(\"cpu\")를 "
           "manual_seed(시드)로 고정하고 그 생성기로 torch.randn을 부르세요.")
    expect(not close(first, torch.randn((len(seeds), *shape),
                                        generator=torch.Generator("cpu").manual_seed(seeds[0])), atol=1e-6),
           "첫 줄만 맞습니다: 생성기 하나로 배치 전체를 뽑으면 둘째 줄은 시드 1의 잡음이 아니라 "
           "시드 0에서 이어지는 난수입니다. 시드마다 생성기를 하나씩 만드세요.")
    by_position = _noise([seeds[0] + i for i in range(len(seeds))], shape)
    expect(not close(first, by_position, atol=1e-6),
           "셋째 줄(시드 42)이 시드 2의 잡음입니다: 자리 번호 i가 아니라 seeds에 들어 있는 값을 시드로 쓰세요.")
    expect(False, "둘째 줄부터 다릅니다: 줄 i는 seeds[i] 하나로 고정한 생성기에서 뽑은 잡음이어야 합니다.")
    return ""


def _measure_ratio(pipe: Any) -> tuple[float, dict[str, Any]]:
    """Return (numbers in the picture / numbers in its latents, the sizes), measured with ``pipe.vae``."""
    side = pipe.unet.config.sample_size * pipe.vae_scale_factor
    picture = render(Shape("circle", "large", "red", "center", "blue"), size=side)
    vae = pipe.vae
    pixels = pipe.image_processor.preprocess(picture).to(vae.device, vae.dtype)
    with torch.no_grad():
        latents = vae.encode(pixels).latent_dist.mean
    sizes = {"pixels": tuple(pixels.shape[1:]), "latents": tuple(latents.shape[1:])}
    return pixels.numel() / latents.numel(), sizes


@checker
def check_latent_ratio(answer: object, pipe: Any) -> str:
    """Return a true Verdict if ``answer`` is how many times fewer numbers the latents hold than the picture.

    The checker re-measures: it renders a Shapes picture at the model's size, encodes it with
    ``pipe.vae`` and divides the picture's number of values (3 x H x W) by the latents'
    (C x H/8 x W/8). Tolerance: 1% relative. Recognises: the side's factor, the area's factor
    (channels forgotten), the inverse ratio, the colour channels left out of the picture.
    Used in 00_setup_check.
    """
    value = as_number(answer, "답")
    ratio, sizes = _measure_ratio(pipe)
    (colours, height, width), (channels, h, w) = sizes["pixels"], sizes["latents"]
    if abs(value - ratio) <= 0.01 * ratio:
        return (f"그림 {colours}×{height}×{width} = {colours * height * width:,}개, 잠재 표현 "
                f"{channels}×{h}×{w} = {channels * h * w:,}개: {ratio:g}배 적습니다. 한 변이 "
                f"{height // h}배 줄지만 채널이 {colours}에서 {with_particle(channels, '으로/로')} "
                "바뀌니 면적의 배율과는 다릅니다.")
    side = height / h
    hints = [
        (side, f"{with_particle(f'{side:g}', '은/는')} 한 변이 줄어든 배율입니다. 숫자의 개수는 "
               "높이 × 너비 × 채널 모두를 곱해서 세세요."),
        (side * side, f"{with_particle(f'{side * side:g}', '은/는')} 면적(높이 × 너비)의 배율입니다: "
                      f"그림의 채널 수({colours})와 잠재 표현의 채널 수({channels})가 다릅니다."),
        (1 / ratio, "거꾸로 나누었습니다: (그림의 숫자 개수) / (잠재 표현의 숫자 개수)입니다."),
        (height * width / (channels * h * w), "그림의 숫자를 셀 때 색 채널 3개(RGB)를 빠뜨렸습니다."),
    ]
    for wrong_value, hint in hints:
        expect(abs(value - wrong_value) > 0.01 * wrong_value, hint)
    expect(False, f"다시 재 보니 {with_particle(f'{value:g}', '이/가')} 아닙니다. pipe.vae.encode로 잠재 표현을 만들고 "
           "그림과 잠재 표현의 .numel()을 비교해 보세요.")
    return ""
