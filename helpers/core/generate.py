"""Generating images with a loaded pipeline: every argument checked, the size check, and the cache."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from PIL import Image

from helpers.core.arguments import (
    call_arguments,
    call_default,
    check_batch,
    check_guidance,
    check_keywords,
    check_negative_prompt,
    check_pixels,
    check_prompt,
    check_seed,
    check_steps,
    check_strength,
)
from helpers.core.generation_cache import cached_call
from helpers.core.images import mask_for_pipeline, picture_for_pipeline
from helpers.core.latents import picture_side
from helpers.core.presenter import presenting
from helpers.core.prompt_words import warn_unknown_words

#: Keyword arguments that hold pictures (made RGB); ``mask_image`` is made L.
PICTURE_ARGUMENTS = ("image", "control_image")


def check_size(width: int, height: int) -> tuple[int, int]:
    """Return ``(width, height)`` unchanged if both are positive multiples of 8, else raise ValueError.

    The VAE shrinks images 8x into latents (잠재 공간), so sizes must divide by 8; the error
    names the nearest valid sizes.
    Used in 00_setup_check.
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


def _size(pipe: Any, width: Any, height: Any, picture: Any) -> tuple[int, int]:
    """Return the size a call makes: given sizes (checked), else the input picture's or the pipeline's.

    ``width=0`` is an error (``check_size``), never the default: only None means default.
    img2img-like pipelines (no width/height arguments) make their input picture's size, and
    ControlNet pipelines default to their control picture's size.
    """
    native = picture_side(pipe)
    if isinstance(picture, Image.Image):
        picture_size: tuple[int, int] | None = picture.size
    elif isinstance(picture, np.ndarray):
        picture_size = (picture.shape[1], picture.shape[0])
    else:
        picture_size = None
    if width is None and height is None:
        follows_picture = not call_takes_size(pipe) or hasattr(pipe, "controlnet")
        return picture_size if follows_picture and picture_size else (native, native)
    if not call_takes_size(pipe):
        w, h = picture_size or (native, native)
        raise ValueError(f"{type(pipe).__name__} makes pictures the size of its image= ({w}x{h}); "
                         "leave width and height out and resize the picture instead, e.g. "
                         f"image.resize(({width or w}, {height or h})).")
    sizes = []
    for name, value in (("width", width), ("height", height)):
        if value is None:
            value = (picture_size or (native, native))[0 if name == "width" else 1]
        if isinstance(value, np.integer):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            hint = f"; write {name}={value} without quotes" if isinstance(value, str) else ""
            raise ValueError(f"{name} must be a whole number of pixels such as {native}, got "
                             f"{value!r}{hint}.")
        sizes.append(value)
    return check_size(sizes[0], sizes[1])


def _pictures(value: Any, convert: Any, name: str, count: int | None) -> Any:
    """Convert one picture, or a list with one picture per prompt, for the pipeline."""
    if isinstance(value, torch.Tensor) and value.ndim == 4 and value.shape[0] > 1:
        value = list(value)
    if isinstance(value, (list, tuple)):
        if count is None:
            raise ValueError(f"{name}= is a list of {len(value)} pictures but the prompt is one "
                             "string; pass one picture, or a list of prompts of the same length.")
        if len(value) != count:
            raise ValueError(f"{count} prompts but {len(value)} pictures in {name}=; give one "
                             "picture per prompt, or one picture for all.")
        return [convert(v, name=name) for v in value]
    return convert(value, name=name)


def check_call(pipe: Any, prompt: Any, *, steps: Any, guidance: Any, width: Any, height: Any,
               seed: Any, batch: Any, negative_prompt: Any,
               kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return ``generate``'s arguments checked and converted, or raise one sentence naming the fix.

    Prompts are text; steps, guidance, seed, batch and strength are checked
    (``helpers.core.arguments``); pictures become RGB and masks L (``helpers.core.images``); width and
    height default to the input picture's size, else the pipeline's; a call's pixels are capped;
    keyword arguments must be the pipeline's. ``batch=None`` becomes
    ``helpers.core.loading.default_batch``.
    Used by helpers.core.generate (no notebook calls it).
    """
    from helpers.core.loading import default_batch

    prompt = check_prompt(prompt)
    negative_prompt = check_negative_prompt(negative_prompt, prompt)
    check_keywords(pipe, list(kwargs))
    scheduler = getattr(pipe, "scheduler", None)
    levels = getattr(getattr(scheduler, "config", None), "num_train_timesteps", None)
    steps = check_steps(steps, most=levels)
    guidance = check_guidance(guidance)
    count = None if isinstance(prompt, str) else len(prompt)
    seed = check_seed(seed, count=count or 1)
    kwargs = dict(kwargs)
    for name in PICTURE_ARGUMENTS:
        if kwargs.get(name) is not None:
            kwargs[name] = _pictures(kwargs[name], picture_for_pipeline, name, count)
    if kwargs.get("mask_image") is not None:
        kwargs["mask_image"] = _pictures(kwargs["mask_image"], mask_for_pipeline, "mask_image", count)
    if "strength" in call_arguments(pipe):
        strength = kwargs.get("strength", call_default(pipe, "strength"))
        if strength is not None:
            kwargs["strength"] = check_strength(strength, steps=steps)
    first = kwargs.get("image")
    size = _size(pipe, width, height, first[0] if isinstance(first, list) else first)
    if width is not None or height is not None:
        kwargs.update(width=size[0], height=size[1])
    batch = default_batch(pipe, *size) if batch is None else check_batch(batch)
    check_pixels(width=size[0], height=size[1], batch=min(batch, count or 1))
    return {"prompt": prompt, "negative_prompt": negative_prompt, "steps": steps,
            "guidance": guidance, "seed": seed, "batch": batch, "kwargs": kwargs}


def call_takes_size(pipe: Any) -> bool:
    """Return True if ``pipe(...)`` takes width and height (so they can be checked and passed).

    Used by helpers.core.generate (no notebook calls it).
    """
    names = call_arguments(pipe)
    return not names or ("width" in names and "height" in names)


def without_t5_defaults(pipe: Any) -> dict[str, Any]:
    """Return ``{"max_sequence_length": n}`` for an SD 3 pipeline loaded without its T5, else {}.

    Without a T5, StableDiffusion3Pipeline puts ``max_sequence_length`` tokens of zeros (default
    256) after the CLIP tokens. The mini SD 3 was trained with as many zeros as CLIP tokens (32),
    and SD 3 itself with 77 T5 tokens; ``n`` is the CLIP tokenizer's length, which is both.
    Used by helpers.core.generate (no notebook calls it).
    """
    if getattr(pipe, "transformer", None) is None or getattr(pipe, "tokenizer_3", "absent") is not None:
        return {}
    if "max_sequence_length" not in call_arguments(pipe):
        return {}
    return {"max_sequence_length": int(pipe.tokenizer.model_max_length)}


def generate(
    pipe: Any,
    prompt: str | list[str],
    *,
    steps: int = 20,
    guidance: float = 7.5,
    width: int | None = None,
    height: int | None = None,
    seed: int = 0,
    batch: int | None = None,
    negative_prompt: str | list[str] | None = None,
    cache: bool | None = None,
    **kwargs: Any,
) -> list[Image.Image]:
    """Return the PIL images ``pipe`` makes for ``prompt`` with fixed seeds.

    For a list of prompts, picture ``i`` gets its own CPU generator seeded ``seed + i``, so it
    starts from the same noise whatever batch it is made in; the list is run ``batch`` prompts
    at a time (``None``: ``helpers.core.loading.default_batch``, 32 for the bundled model, a few for
    SD 1.5 at 512 px). Batched arithmetic rounds a little differently, so a picture made in a
    batch of 4 and the same picture made alone are identical up to one grey level (0-255) on a
    few pixels (notebook 05 measures it). Sizes default to the input picture's (img2img,
    ControlNet), else the pipeline's; given sizes go through ``check_size``. Extra keyword
    arguments (``image=``, ``mask_image=``, ``strength=``...) go to the pipeline; pictures are
    made RGB and masks L first. Every argument is checked first (``check_call``): a mistake gets
    one sentence naming the fix. A prompt with words the model's tokenizer cannot read (Korean
    on the bundled model) gets a warning once. The same call on the same model is answered
    from the disk cache (``helpers.core.generation_cache``; on unless ``WORKBOOK_CACHE=off``);
    ``cache=False`` always runs the model (for timing, or to show a seed reproduces).
    Used in 00_setup_check, 04_inside_stable_diffusion, 05_running_stable_diffusion,
    06_prompt_engineering, 07_failure_cases, 08_controlnet, 09_editing_and_personalization,
    10_responsible_generation, 11_flow_matching.
    """
    args = check_call(pipe, prompt, steps=steps, guidance=guidance, width=width, height=height,
                      seed=seed, batch=batch, negative_prompt=negative_prompt, kwargs=kwargs)
    prompt, negative_prompt = args["prompt"], args["negative_prompt"]
    steps, guidance, seed, batch = args["steps"], args["guidance"], args["seed"], args["batch"]
    kwargs = {**without_t5_defaults(pipe), **args["kwargs"]}
    warn_unknown_words(pipe, prompt)
    if negative_prompt is not None:
        warn_unknown_words(pipe, negative_prompt)
    call = {**kwargs, "prompt": prompt, "negative_prompt": negative_prompt, "steps": steps,
            "guidance": guidance, "seed": seed}
    if not isinstance(prompt, str):
        call["batch"] = min(batch, len(prompt))  # the chunks actually run
    return cached_call(pipe, call, lambda: _run(pipe, prompt, steps, guidance, seed, batch,
                                                negative_prompt, kwargs), cache)


def _chunk(value: Any, start: int, stop: int) -> Any:
    """Return the part of a per-prompt list for prompts ``start:stop``; anything else as it is."""
    return value[start:stop] if isinstance(value, list) else value


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
    per_prompt = [name for name in (*PICTURE_ARGUMENTS, "mask_image")
                  if isinstance(kwargs.get(name), list)]
    for start in range(0, len(prompt), batch):
        stop = start + batch
        chunk = list(prompt[start:stop])
        negative = (negative_prompt[start:stop] if isinstance(negative_prompt, list)
                    else None if negative_prompt is None else [negative_prompt] * len(chunk))
        generators = [torch.Generator("cpu").manual_seed(seed + start + i)
                      for i in range(len(chunk))]
        extra = {**kwargs, **{name: _chunk(kwargs[name], start, stop) for name in per_prompt}}
        with _quiet_steps(pipe):
            result = pipe(chunk, negative_prompt=negative, num_inference_steps=steps,
                          guidance_scale=guidance, generator=generators, **extra)
        images += result.images
    return images
