"""time_per_image: a positive time per picture; batches and repeats are counted per picture."""

from __future__ import annotations

import math

from conftest import build_tiny_pipeline
from helpers.performance.speed import time_per_image


def test_time_per_image_counts_every_call():
    from diffusers import DDIMScheduler

    pipe = build_tiny_pipeline()
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)  # one UNet call a step
    pipe.set_progress_bar_config(disable=True)
    calls = []
    original = pipe.unet.forward

    def counting(*args, **kwargs):
        calls.append(args[0].shape[0])
        return original(*args, **kwargs)

    pipe.unet.forward = counting
    result = time_per_image(pipe, "a red square", steps=2, guidance=3.0, batch=3, repeats=2)
    assert result["seconds"] > 0 and math.isnan(result["peak_mib"])
    # warm-up + 2 repeats, 2 steps each, a batch of 3 doubled by classifier-free guidance
    assert calls == [6] * 6
    calls.clear()
    time_per_image(pipe, "a red square", steps=2, guidance=1.0)
    assert calls == [1] * 4  # guidance 1: no unconditional half
