"""The checkers of 05_running_stable_diffusion: right answers pass, typical mistakes get their own hint."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline

from helpers import checks
from helpers.checks.running_stable_diffusion import IMG2IMG_CASES, euler_step, img2img_steps

# --- generators -------------------------------------------------------------------------------


def test_generators_right_and_wrong():
    assert checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s + i) for i in range(n)])
    assert checks.check_generators(lambda s, n: tuple(torch.Generator().manual_seed(s + i) for i in range(n)))
    assert checks.check_generators(None).kind == "todo"


def test_generators_global_generator_is_named():
    verdict = checks.check_generators(lambda s, n: [torch.manual_seed(s + i) for i in range(n)])
    assert verdict.kind == "wrong" and "전역 생성기" in verdict.message


def test_generators_one_object_reused_is_named():
    def reused(seed, n):
        generator = torch.Generator("cpu")
        return [generator.manual_seed(seed + i) for i in range(n)]

    verdict = checks.check_generators(reused)
    assert verdict.kind == "wrong" and "같은 생성기 객체" in verdict.message


def test_generators_wrong_seed_and_crash():
    verdict = checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s) for _ in range(n)])
    assert verdict.kind == "wrong" and "seed + 1 = 43이" in verdict.message
    verdict = checks.check_generators(lambda s, n: 1 / 0)
    assert verdict.kind == "wrong" and "ZeroDivisionError" in verdict.message


# --- img2img steps -----------------------------------------------------------------------------


def test_img2img_cases_are_accepted_by_diffusers_and_match_it():
    from diffusers import DDIMScheduler

    pipe = StableDiffusionImg2ImgPipeline.__new__(StableDiffusionImg2ImgPipeline)
    for steps, strength in IMG2IMG_CASES:
        assert 0 < strength <= 1 and int(steps * strength) >= 1  # what diffusers and generate accept
        scheduler = DDIMScheduler(steps_offset=1)
        scheduler.set_timesteps(steps)
        object.__setattr__(pipe, "scheduler", scheduler)
        assert pipe.get_timesteps(steps, strength, "cpu")[1] == img2img_steps(steps, strength)


def test_img2img_steps_right_answers_of_any_type():
    assert checks.check_img2img_steps(img2img_steps)
    assert checks.check_img2img_steps(lambda steps, s: int(steps * s))  # right for strengths <= 1
    assert checks.check_img2img_steps(lambda steps, s: np.int64(int(steps * s)))
    assert checks.check_img2img_steps(lambda steps, s: torch.tensor(float(int(steps * s))))
    assert checks.check_img2img_steps(None).kind == "todo"


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda steps, s: round(steps * s), "반올림"),
    (lambda steps, s: math.ceil(steps * s), "올림"),
    (lambda steps, s: steps - int(steps * s), "건너뛰는"),
    (lambda steps, s: steps, "모든 걸음"),
    (lambda steps, s: steps * s, "정수"),
    (lambda steps, s: int(steps * s) + 1, "걸음인데"),
    (lambda steps, s: [1, 2], "숫자 하나"),
    (lambda steps, s: {}["x"], "KeyError"),
])
def test_img2img_steps_mistakes_get_their_hint(answer, hint):
    verdict = checks.check_img2img_steps(answer)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


# --- Euler step --------------------------------------------------------------------------------


def test_reference_euler_step_is_diffusers_step():
    scheduler = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    scheduler.set_timesteps(10)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 8, 8, generator=generator) * scheduler.init_noise_sigma
    eps = torch.randn(1, 4, 8, 8, generator=generator)
    for i, t in enumerate(scheduler.timesteps[:3]):
        expected = scheduler.step(eps, t, x).prev_sample
        ours = euler_step(x, eps, float(scheduler.sigmas[i]), float(scheduler.sigmas[i + 1]))
        assert torch.allclose(ours, expected, atol=1e-4)
        x = expected


def test_euler_step_right_answers_of_any_dtype():
    assert checks.check_euler_step(euler_step)
    assert checks.check_euler_step(lambda x, e, s, sn: x + (x - (x - s * e)) / s * (sn - s))
    assert checks.check_euler_step(lambda x, e, s, sn: euler_step(x.double(), e.double(), s, sn))
    assert checks.check_euler_step(None).kind == "todo"


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda x, e, s, sn: x + (s - sn) * e, "부호"),
    (lambda x, e, s, sn: x - s * e, "x̂0"),
    (lambda x, e, s, sn: x + (sn**2 - s**2) * e, "제곱"),
    (lambda x, e, s, sn: x + sn * e, "값이 다릅니다"),
    (lambda x, e, s, sn: (x + (sn - s) * e)[0], "모양"),
    (lambda x, e, s, sn: x + e.view(-1, 3), "오류"),
])
def test_euler_step_mistakes_get_their_hint(answer, hint):
    verdict = checks.check_euler_step(answer)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


# --- enough steps (re-measured with the bundled model) -----------------------------------------


@pytest.fixture(scope="module")
def mini_sd():
    import helpers

    pipe = helpers.load_pipeline("text2img", model="mini-sd", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    return pipe


PROMPTS = ["a large red circle at the center on a blue background", "a small green square"]


def test_enough_steps_is_re_measured(mini_sd):
    from helpers.checks.running_stable_diffusion import measured_adherence

    scores = {k: measured_adherence(mini_sd, PROMPTS, k, guidance=5.0, seed=700) for k in range(2, 9)}
    fewest = next(k for k, score in scores.items() if score >= 0.95)
    assert checks.check_enough_steps(fewest, mini_sd, PROMPTS)
    assert checks.check_enough_steps(np.int64(fewest), mini_sd, PROMPTS)
    assert checks.check_enough_steps(float(fewest), mini_sd, PROMPTS)
    if fewest > 2:  # one step fewer does not reach the target
        verdict = checks.check_enough_steps(fewest - 1, mini_sd, PROMPTS)
        assert verdict.kind == "wrong" and "못 미칩니다" in verdict.message
    verdict = checks.check_enough_steps(fewest + 3, mini_sd, PROMPTS)  # not the fewest
    assert verdict.kind == "wrong" and "이미 충실도가" in verdict.message
    assert checks.check_enough_steps(None, mini_sd, PROMPTS).kind == "todo"
    assert checks.check_enough_steps(4.5, mini_sd, PROMPTS).kind == "wrong"
    assert checks.check_enough_steps("5", mini_sd, PROMPTS).kind == "wrong"
