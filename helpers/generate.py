"""Generating images with a loaded pipeline: the size check every generation goes through, and the cache."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from PIL import Image

from helpers.generation_cache import cached_call
from helpers.presenter import presenting


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


@contextlib.contextmanager
def _quiet_steps(pipe: Any) -> Iterator[None]:
    """In presenter mode, hide the pipeline's step progress bar for one call."""
    if not presenting() or not hasattr(pipe, "set_progress_bar_config"):
        yield
        return
    before = dict(getattr(pipe, "_progress_bar_config", None) or {})
    pipe.set_progress_bar_config(**{**before, "disable": True})
    try:
        yield
    finally:
        pipe.set_progress_bar_config(**before)


def generate(
    pipe: Any,
    prompt: str | list[str],
    *,
    steps: int = 20,
    guidance: float = 7.5,
    width: int | None = None,
    height: int | None = None,
    seed: int = 0,
    batch: int = 32,
    negative_prompt: str | list[str] | None = None,
    cache: bool | None = None,
    **kwargs: Any,
) -> list[Image.Image]:
    """Return the PIL images ``pipe`` makes for ``prompt`` with fixed seeds.

    For a list of prompts, picture ``i`` gets its own CPU generator seeded ``seed + i``,
    so each picture depends only on its prompt and seed, not on the batch it was made in;
    the list is run ``batch`` prompts at a time. Sizes default to the pipeline's own;
    given sizes go through ``check_size`` first. Extra keyword arguments (``image=``,
    ``mask_image=``...) go to the pipeline. The same call on the same model is answered
    from the disk cache (``helpers.generation_cache``; on unless ``WORKBOOK_CACHE=off``);
    ``cache=False`` always runs the model (for timing, or to show a seed reproduces).
    Introduced in 00_setup_check.
    """
    if width is not None or height is not None:
        scale = getattr(pipe, "vae_scale_factor", 8)
        default = pipe.unet.config.sample_size * scale
        width, height = check_size(width or default, height or default)
        kwargs.update(width=width, height=height)
    if not isinstance(prompt, str):
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch!r}.")
        if isinstance(negative_prompt, list) and len(negative_prompt) != len(prompt):
            raise ValueError(f"{len(prompt)} prompts but {len(negative_prompt)} negative prompts.")
    call = {**kwargs, "prompt": prompt, "negative_prompt": negative_prompt, "steps": steps,
            "guidance": guidance, "seed": seed}
    if not isinstance(prompt, str):
        call["batch"] = min(batch, len(prompt))  # the chunks actually run
    return cached_call(pipe, call, lambda: _run(pipe, prompt, steps, guidance, seed, batch,
                                                negative_prompt, kwargs), cache)


def _run(pipe: Any, prompt: str | list[str], steps: int, guidance: float, seed: int, batch: int,
         negative_prompt: str | list[str] | None, kwargs: dict[str, Any]) -> list[Image.Image]:
    """Run the pipeline for ``generate`` (no cache): one call, or the list in chunks."""
    if isinstance(prompt, str):
        generator = torch.Generator("cpu").manual_seed(seed)
        with _quiet_steps(pipe):
            result = pipe(prompt, negative_prompt=negative_prompt, num_inference_steps=steps,
                          guidance_scale=guidance, generator=generator, **kwargs)
        return list(result.images)
    images: list[Image.Image] = []
    for start in range(0, len(prompt), batch):
        chunk = list(prompt[start:start + batch])
        negative = (negative_prompt[start:start + batch] if isinstance(negative_prompt, list)
                    else None if negative_prompt is None else [negative_prompt] * len(chunk))
        generators = [torch.Generator("cpu").manual_seed(seed + start + i)
                      for i in range(len(chunk))]
        with _quiet_steps(pipe):
            result = pipe(chunk, negative_prompt=negative, num_inference_steps=steps,
                          guidance_scale=guidance, generator=generators, **kwargs)
        images += result.images
    return images
