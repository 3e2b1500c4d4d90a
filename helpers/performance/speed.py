"""Time per generated image, and peak GPU memory, for a loaded pipeline."""

from __future__ import annotations

import time
from typing import Any

import torch

from helpers.core.loading import execution_device


def time_per_image(pipe: Any, prompt: str, *, steps: int, guidance: float, batch: int = 1,
                   repeats: int = 1, seed: int = 0) -> dict[str, float]:
    """Return ``{"seconds": per image, "peak_mib": peak GPU memory or nan on a CPU}``.

    One untimed warm-up call first (the first call pays for kernel choice and caches), then
    ``repeats`` timed calls of ``batch`` pictures each; seconds are per picture.
    Used in 05_running_stable_diffusion, 10_responsible_generation.
    """
    device = execution_device(pipe)  # not pipe.device: it says cpu after enable_model_cpu_offload()
    cuda = device.type == "cuda"

    def run() -> None:
        generator = torch.Generator("cpu").manual_seed(seed)
        pipe([prompt] * batch, num_inference_steps=steps, guidance_scale=guidance,
             generator=generator)

    run()
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = (time.perf_counter() - start) / (repeats * batch)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else float("nan")
    return {"seconds": seconds, "peak_mib": peak}
