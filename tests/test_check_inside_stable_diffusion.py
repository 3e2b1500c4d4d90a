"""Checkers of 04_inside_stable_diffusion: right answers pass, each typical wrong one gets its own hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline

from helpers import checks
from helpers.checks.inside_stable_diffusion import _settling

PROMPT = "a large red circle at the center on a blue background"


def hint(verdict) -> str:
    assert not verdict and verdict.kind == "wrong", verdict
    return verdict.message


def right_x0(z, eps, a):
    return (z - (1 - a).sqrt() * eps) / a.sqrt()


def test_predicted_x0_passes_the_right_answer_in_any_numeric_form():
    assert checks.check_predicted_x0(right_x0)
    assert checks.check_predicted_x0(lambda z, eps, a: right_x0(z.double(), eps.double(), a.double()))
    assert checks.check_predicted_x0(lambda z, eps, a: (z - (1 - float(a)) ** 0.5 * eps) / float(a) ** 0.5)


def test_predicted_x0_names_each_typical_mistake():
    assert checks.check_predicted_x0(None).kind == "todo"
    assert "제곱근" in hint(checks.check_predicted_x0(lambda z, eps, a: (z - (1 - a) * eps) / a))
    assert "부호" in hint(checks.check_predicted_x0(lambda z, eps, a: (z + (1 - a).sqrt() * eps) / a.sqrt()))
    assert "빼지 않았습니다" in hint(checks.check_predicted_x0(lambda z, eps, a: z / a.sqrt()))
    assert "나누지 않았습니다" in hint(checks.check_predicted_x0(lambda z, eps, a: z - (1 - a).sqrt() * eps))
    assert "오류" in hint(checks.check_predicted_x0(lambda z, eps, a: 1 / 0))


@pytest.fixture(scope="module")
def ddim_pipe(bundled_pipe):
    """The bundled mini-sd with the notebook's DDIM scheduler (a new pipeline; the fixture stays as it is)."""
    components = dict(bundled_pipe.components)
    components["scheduler"] = DDIMScheduler.from_config(bundled_pipe.scheduler.config, clip_sample=False)
    pipe = StableDiffusionPipeline(**components)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_settling_measures_distances_to_the_final_latent(ddim_pipe):
    x0_dist, z_dist, timesteps = _settling(ddim_pipe, PROMPT, 10, 5.0, 3)
    assert len(x0_dist) == len(z_dist) == len(timesteps) == 10
    assert z_dist[-1] == 0.0 and x0_dist[-1] < 0.1  # the last step's x0_hat is almost the end
    assert x0_dist[0] > 1 and z_dist[0] > 0.5  # at t = 901 the guess is still far off
    # the callback's latents are the same z as the recorded step outputs
    seen = []
    final = ddim_pipe(PROMPT, num_inference_steps=10, guidance_scale=5.0, output_type="latent",
                      generator=torch.Generator("cpu").manual_seed(3),
                      callback_on_step_end=lambda p, i, t, kw: seen.append(kw["latents"].clone()) or kw,
                      callback_on_step_end_tensor_inputs=["latents"]).images
    assert torch.allclose(seen[-1], final)
    relative = [float((z - final).norm() / final.norm()) for z in seen]
    assert np.allclose(relative, z_dist, atol=1e-5)
    assert "step" not in vars(ddim_pipe.scheduler)  # the recording wrapper is gone


def test_x0_settles_re_measures_and_names_each_typical_mistake(ddim_pipe):
    x0_dist, z_dist, timesteps = _settling(ddim_pipe, PROMPT, 10, 5.0, 3)
    right = next(i for i, d in enumerate(x0_dist) if d < 0.1)
    args = (ddim_pipe, PROMPT, 10, 5.0, 3)
    assert checks.check_x0_settles(right, *args)
    assert checks.check_x0_settles(np.int64(right), *args)
    assert checks.check_x0_settles(float(right), *args)
    assert checks.check_x0_settles(None, *args).kind == "todo"
    assert "1부터" in hint(checks.check_x0_settles(right + 1, *args))
    assert "시간 t" in hint(checks.check_x0_settles(timesteps[right], *args))
    z_first = next(i for i, d in enumerate(z_dist) if d < 0.1)
    if z_first not in (right, right + 1):
        assert "z_t" in hint(checks.check_x0_settles(z_first, *args))
    assert "아직 넘습니다" in hint(checks.check_x0_settles(0, *args))
    assert "정수" in hint(checks.check_x0_settles(2.5, *args))
