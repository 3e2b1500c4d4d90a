"""Generating images with a loaded pipeline, with the size check every generation goes through."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image


def check_size(width: int, height: int) -> tuple[int, int]:
    """Return ``(width, height)`` unchanged if both are positive multiples of 8, else raise ValueError.

    The VAE shrinks images 8x into latents (잠재 공간), so sizes must divide by 8; the error
    names the nearest valid sizes.
    Introduced in 00_setup_check.
    """
    for name, value in (("width", width), ("height", height)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an int, got {value!r}.")
        if value <= 0 or value % 8:
            lower = max(8, value // 8 * 8)
            upper = max(8, lower + 8 if value > lower else lower)
            nearest = f"{lower} or {upper}" if lower != upper else f"{lower}"
            raise ValueError(
                f"{name}={value} is not a positive multiple of 8 (the VAE works on 8x8 blocks); "
                f"nearest valid {name}: {nearest}."
            )
    return width, height


def generate(
    pipe: Any,
    prompt: str | list[str],
    *,
    steps: int = 20,
    guidance: float = 7.5,
    width: int | None = None,
    height: int | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> list[Image.Image]:
    """Return the PIL images ``pipe`` makes for ``prompt`` with a fixed ``seed``.

    Sizes default to the pipeline's own; given sizes go through ``check_size`` first.
    Extra keyword arguments (``image=``, ``mask_image=``, ``negative_prompt=``...) go to the pipeline.
    Introduced in 00_setup_check.
    """
    if width is not None or height is not None:
        scale = getattr(pipe, "vae_scale_factor", 8)
        default = pipe.unet.config.sample_size * scale
        width, height = check_size(width or default, height or default)
        kwargs.update(width=width, height=height)
    generator = torch.Generator("cpu").manual_seed(seed)
    result = pipe(
        prompt, num_inference_steps=steps, guidance_scale=guidance, generator=generator, **kwargs
    )
    return list(result.images)
