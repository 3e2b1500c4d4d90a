"""Checkers of 00_setup_check: right answers pass, each typical wrong one gets its own hint."""

from __future__ import annotations

import numpy as np
import torch

from helpers import checks


def hint(verdict) -> str:
    assert not verdict and verdict.kind == "wrong", verdict
    return verdict.message


def starting_noise(seeds, shape):
    return torch.stack([torch.randn(shape, generator=torch.Generator("cpu").manual_seed(s)) for s in seeds])


def global_seed(seeds, shape):
    rows = []
    for s in seeds:
        torch.manual_seed(s)
        rows.append(torch.randn(shape))
    return torch.stack(rows)


def test_starting_noise_passes_the_right_answer_in_any_float_dtype():
    assert checks.check_starting_noise(starting_noise)
    assert checks.check_starting_noise(lambda seeds, shape: starting_noise(seeds, shape).double())
    assert checks.check_starting_noise(lambda seeds, shape: torch.cat(
        [torch.randn((1, *shape), generator=torch.Generator().manual_seed(s)) for s in seeds]))


def test_starting_noise_names_each_typical_mistake():
    assert checks.check_starting_noise(None).kind == "todo"
    state = torch.get_rng_state()
    assert "전역(global)" in hint(checks.check_starting_noise(global_seed))
    assert torch.equal(torch.get_rng_state(), state)  # the checker puts the global state back
    assert "두 번" in hint(checks.check_starting_noise(lambda seeds, shape: torch.randn(len(seeds), *shape)))
    assert "첫 줄만" in hint(checks.check_starting_noise(
        lambda seeds, shape: torch.randn((len(seeds), *shape), generator=torch.Generator().manual_seed(seeds[0]))))
    assert "자리 번호" in hint(checks.check_starting_noise(
        lambda seeds, shape: starting_noise([seeds[0] + i for i in range(len(seeds))], shape)))
    assert "torch.stack" in hint(checks.check_starting_noise(
        lambda seeds, shape: torch.cat([starting_noise([s], shape)[0] for s in seeds])))
    assert "오류" in hint(checks.check_starting_noise(lambda seeds, shape: 1 / 0))


def test_latent_ratio_re_measures_with_the_vae_and_names_each_typical_mistake(bundled_pipe):
    config = bundled_pipe.unet.config
    side = config.sample_size * bundled_pipe.vae_scale_factor
    ratio = 3 * side * side / (config.in_channels * config.sample_size**2)  # mini-sd: 3·64·64 / (8·8·8) = 24
    assert ratio == 24
    assert checks.check_latent_ratio(24, bundled_pipe)
    assert checks.check_latent_ratio(np.float32(24.0), bundled_pipe)
    assert checks.check_latent_ratio(torch.tensor(24), bundled_pipe)
    assert checks.check_latent_ratio(None, bundled_pipe).kind == "todo"
    assert "한 변" in hint(checks.check_latent_ratio(8, bundled_pipe))
    assert "면적" in hint(checks.check_latent_ratio(64, bundled_pipe))
    assert "거꾸로" in hint(checks.check_latent_ratio(1 / 24, bundled_pipe))
    assert "다시 재 보니 30이" in hint(checks.check_latent_ratio(30, bundled_pipe))
