"""Inpainting with a UNet whose input is the VAE's latents alone, whatever their channel count.

diffusers' ``StableDiffusionInpaintPipeline`` has two ways to inpaint. With an inpainting UNet (9
input channels: 4 latent + 1 mask + 4 masked-picture latents, SD 1.5's inpainting model) the UNet
sees the mask. With an ordinary UNet it blends in latent space: after every step the latents outside
the mask are replaced by the original picture's latents noised to that step. That second way works
for any number of latent channels, but the pipeline only accepts it when the UNet takes exactly 4
(SD 1.5's latent channels), and raises for anything else.

The bundled mini-sd's VAE has 8 latent channels, so its UNet takes 8. ``LatentBlendInpaintPipeline``
is diffusers' own pipeline, used unchanged, except that for the length of one call its UNet's config
says 4 input channels when the UNet takes exactly the VAE's latents, so the pipeline chooses the
blending way it would choose for SD 1.5's ordinary UNet. Nothing in the UNet's forward pass reads that
number; everything the blending builds is sized from the VAE's ``latent_channels``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from diffusers import StableDiffusionInpaintPipeline
from diffusers.configuration_utils import FrozenDict

#: the UNet input channels for which diffusers' inpainting pipeline blends in latent space
BLENDING_CHANNELS = 4


@contextmanager
def _blending_config(unet: Any):
    saved = unet._internal_dict
    unet._internal_dict = FrozenDict({**saved, "in_channels": BLENDING_CHANNELS})
    try:
        yield
    finally:
        unet._internal_dict = saved


class LatentBlendInpaintPipeline(StableDiffusionInpaintPipeline):
    """diffusers' inpainting pipeline, blending in latent space for a UNet of any latent channel count.

    Loaded by ``helpers.load_pipeline("inpaint")`` for the bundled mini-sd (8 latent channels).
    Used by helpers.core.loading (no notebook calls it).
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        channels = self.unet.config.in_channels
        if channels == self.vae.config.latent_channels and channels != BLENDING_CHANNELS:
            with _blending_config(self.unet):
                return super().__call__(*args, **kwargs)
        return super().__call__(*args, **kwargs)
