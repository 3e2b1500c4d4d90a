"""Editing a picture by DDIM inversion: run the deterministic sampler backwards to its noise.

DDIM's step is deterministic, so it can be run the other way: from a picture's latent z_0,
step *up* the noise levels with the UNet's noise prediction (``DDIMInverseScheduler``) and
arrive at a z_T from which ordinary DDIM sampling returns (almost) the same picture. Sampling
from that z_T with one word of the caption changed edits the picture: what the caption did
not change stays where the noise put it. ``edit_tasks`` and ``edit_scores`` measure this on
the Shapes world, where every picture can be read back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from helpers.core.latents import encode_latents
from helpers.shapes import ATTRIBUTES, COLORS, SHAPES, Shape, random_shape, render
from helpers.shapes.reader import read

EDITABLE: tuple[str, ...] = ("color", "shape")


def _check_lengths(images, prompts) -> None:
    if len(images) != len(prompts):
        raise ValueError(f"{len(images)} pictures but {len(prompts)} prompts; give one prompt per picture.")
    if not images:
        raise ValueError("give at least one picture to invert.")


@torch.no_grad()
def encode_pictures(pipe, images: list[Image.Image]) -> torch.Tensor:
    """Return the pictures' VAE latents z_0, scaled as the UNet expects (the posterior means).

    Used in 09_editing_and_personalization.
    """
    return encode_latents(pipe.vae, pipe.image_processor.preprocess(images))


@torch.no_grad()
def decode_latents(pipe, latents: torch.Tensor) -> list[Image.Image]:
    """Return the pictures the VAE decodes from scaled latents (undoing ``encode_pictures``).

    Used in 09_editing_and_personalization.
    """
    decoded = pipe.vae.decode(latents.to(pipe.vae.dtype) / pipe.vae.config.scaling_factor).sample
    return pipe.image_processor.postprocess(decoded.float(), output_type="pil")


def vae_round_trip(pipe, images: list[Image.Image]) -> list[Image.Image]:
    """Return the pictures after one trip through the VAE: encode, then decode.

    Used in 09_editing_and_personalization.
    """
    return decode_latents(pipe, encode_pictures(pipe, images))


@torch.no_grad()
def ddim_invert(pipe, images: list[Image.Image], prompts: list[str], *, steps: int = 20,
                guidance: float = 1.0) -> torch.Tensor:
    """Return the starting noise z_T from which DDIM sampling with ``prompts`` redraws ``images``.

    The loop runs ``DDIMInverseScheduler`` (built from the pipeline's scheduler config) over
    ``steps`` steps from z_0 up to the noisiest step, with the UNet's noise prediction for
    each prompt; ``guidance`` > 1 mixes in the unconditional prediction as sampling does
    (inversion is most faithful at 1). Use ``regenerate`` to sample from the result.
    Used in 09_editing_and_personalization.
    """
    from diffusers import DDIMInverseScheduler

    _check_lengths(images, prompts)
    latents = encode_pictures(pipe, images)
    inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
    inverse.set_timesteps(steps, device=pipe.device)
    text, empty = pipe.encode_prompt(list(prompts), pipe.device, 1, True, [""] * len(prompts))
    for t in inverse.timesteps:
        if guidance == 1.0:
            noise = pipe.unet(latents, t, encoder_hidden_states=text).sample
        else:
            both = pipe.unet(torch.cat([latents, latents]), t,
                             encoder_hidden_states=torch.cat([empty, text])).sample
            unconditional, conditional = both.chunk(2)
            noise = unconditional + guidance * (conditional - unconditional)
        latents = inverse.step(noise, t, latents).prev_sample
    return latents


@torch.no_grad()
def regenerate(pipe, noise: torch.Tensor, prompts: list[str], *, steps: int = 20,
               guidance: float = 1.0) -> list[Image.Image]:
    """Return the pictures DDIM sampling draws from starting noise ``noise`` for ``prompts``.

    The pipeline's own scheduler is swapped for DDIM (with the same config) for this call
    only, since only DDIM undoes ``ddim_invert``.
    Used in 09_editing_and_personalization.
    """
    from diffusers import DDIMScheduler

    if len(noise) != len(prompts):
        raise ValueError(f"{len(noise)} starting noises but {len(prompts)} prompts.")
    original = pipe.scheduler
    pipe.scheduler = DDIMScheduler.from_config(original.config)
    try:
        result = pipe(list(prompts), latents=noise.clone(), num_inference_steps=steps,
                      guidance_scale=guidance)
    finally:
        pipe.scheduler = original
    return list(result.images)


def pixel_error(a, b) -> float:
    """Return the mean absolute difference of two pictures' pixels (0-255).

    Used in 09_editing_and_personalization.
    """
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


@dataclass(frozen=True)
class EditTask:
    """A rendered Shapes picture, its short caption, and one word to change in it.

    Used by helpers.editing.inversion (no notebook calls it).
    """

    source: Shape
    attribute: str  # "color" or "shape"
    new_value: str

    def caption(self) -> str:
        """Return the caption of the source picture: ``a {color} {shape}``."""
        return f"a {self.source.color} {self.source.shape}"

    def edited_caption(self) -> str:
        """Return the caption with the one word changed."""
        values = {"color": self.source.color, "shape": self.source.shape, self.attribute: self.new_value}
        return f"a {values['color']} {values['shape']}"

    def expected(self) -> dict[str, str]:
        """Return every attribute the edited picture should have."""
        return {**self.source.as_dict(), self.attribute: self.new_value}


def edit_tasks(n: int, seed: int = 0) -> list[EditTask]:
    """Return ``n`` random edits, half changing the colour and half the shape.

    The new colour differs from the old one and from the background. The caption names only
    colour and shape, so size, position and background are what the edit must keep.
    Used in 09_editing_and_personalization.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}.")
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        source = random_shape(rng)
        if i % 2 == 0:
            new = rng.choice([c for c in COLORS if c not in (source.color, source.background)])
            tasks.append(EditTask(source, "color", new))
        else:
            tasks.append(EditTask(source, "shape", rng.choice([s for s in SHAPES if s != source.shape])))
    return tasks


def task_pictures(tasks: list[EditTask], size: int = 64) -> list[Image.Image]:
    """Return the rendered source picture of each task.

    Used in 09_editing_and_personalization.
    """
    return [render(task.source, size) for task in tasks]


def edit_scores(tasks: list[EditTask], images: list[Image.Image]) -> dict[str, float]:
    """Return edit success, preservation and both, read back with the Shapes reader.

    ``success``: the changed attribute reads as the new value. ``kept``: every other
    attribute (shape or colour, size, position, background) reads as in the source.
    ``both``: the two at once. ``kept_<attribute>`` gives each attribute's share.
    Used in 09_editing_and_personalization.
    """
    if len(tasks) != len(images):
        raise ValueError(f"{len(tasks)} tasks but {len(images)} pictures.")
    success, kept, per = [], [], {name: [] for name in ATTRIBUTES}
    for task, image in zip(tasks, images, strict=True):
        got, want = read(image), task.expected()
        success.append(got[task.attribute] == want[task.attribute])
        others = [name for name in ATTRIBUTES if name != task.attribute]
        for name in others:
            per[name].append(got[name] == want[name])
        kept.append(all(got[name] == want[name] for name in others))
    result = {"success": float(np.mean(success)), "kept": float(np.mean(kept)),
              "both": float(np.mean(np.logical_and(success, kept)))}
    result.update({f"kept_{name}": float(np.mean(v)) for name, v in per.items() if v})
    return result
