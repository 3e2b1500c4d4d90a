"""Pictures into the VAE's latent space: the pixel rule, the encoding with its scaling factor.

One rule for each step, shared by training, personalisation, inversion and the Fréchet features:
``image_to_tensor`` turns a picture into pixels in [-1, 1] (what the VAE eats),
``latent_distribution`` encodes pixels to the posterior's means and standard deviations,
``encode_latents`` gives the latents a UNet works on (the means times the VAE's scaling
factor), and ``picture_side`` the side of the pictures a pipeline makes.
"""

from __future__ import annotations

import numpy as np
import torch


def picture_side(pipe) -> int:
    """Return the side in pixels of the pictures ``pipe`` makes: the UNet's (SD 3: transformer's) latent side times the VAE's scale.

    Used by helpers.control.pose_control, helpers.core.{generate, loading},
    helpers.editing.personalize, helpers.gpu_budget.counting, helpers.training.train_controlnet (no
    notebook calls it).
    """
    denoiser = pipe.unet if getattr(pipe, "unet", None) is not None else pipe.transformer  # SD 3: an MMDiT
    return int(denoiser.config.sample_size) * int(getattr(pipe, "vae_scale_factor", 8))


def image_to_tensor(image, size: int | None = None) -> torch.Tensor:
    """Return a PIL picture as a 3xHxW float tensor in [-1, 1] (what the VAE eats).

    With ``size``, a picture of another size is first resized to ``size`` x ``size`` (bicubic).
    Used in 02_forward_diffusion, 08_controlnet.
    """
    from PIL import Image

    image = image.convert("RGB")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


@torch.no_grad()
def latent_distribution(vae, pixels: torch.Tensor,
                        batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the means and standard deviations of the VAE's posterior for ``pixels``.

    ``pixels`` is an Nx3xHxW tensor in [-1, 1]. It is encoded ``batch`` pictures at a time (all
    at once when None), each batch moved to the VAE's device and dtype; the results stay there.
    Used by helpers.core.latents, helpers.editing.personalize, helpers.responsible.frechet,
    helpers.training.{evaluate_controlnet, train_controlnet, train_mini_sd, train_mini_sd3} (no
    notebook calls it).
    """
    if len(pixels) == 0:
        raise ValueError("no pictures to encode: pixels is empty.")
    parameter = next(vae.parameters())
    step = batch or len(pixels)
    means, stds = [], []
    for start in range(0, len(pixels), step):
        chunk = pixels[start:start + step].to(parameter.device, parameter.dtype)
        dist = vae.encode(chunk).latent_dist
        means.append(dist.mean)
        stds.append(dist.std)
    return torch.cat(means), torch.cat(stds)


def encode_latents(vae, pixels: torch.Tensor, batch: int | None = None) -> torch.Tensor:
    """Return the latents z_0 a UNet works on: the VAE posterior's means times its scaling factor.

    ``pixels`` is an Nx3xHxW tensor in [-1, 1] (``image_to_tensor``, or a pipeline's
    ``image_processor.preprocess``); see ``latent_distribution`` for ``batch``.
    Used by helpers.editing.inversion (no notebook calls it).
    """
    means, _ = latent_distribution(vae, pixels, batch)
    return means * vae.config.scaling_factor
