"""The one way into latent space (helpers.core.latents) and its users: the same numbers as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.core.latents import encode_latents, image_to_tensor, latent_distribution, picture_side
from helpers.shapes import Shape, render

SQUARE = Shape("square", "large", "red", "center", "blue")


def _vae(tiny_pipeline_dir):
    from diffusers import AutoencoderKL

    return AutoencoderKL.from_pretrained(tiny_pipeline_dir / "vae").eval()


def test_image_to_tensor_maps_0_255_to_minus_1_1():
    x = image_to_tensor(render(SQUARE, 32))
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    # the centre is the square's red (220, 40, 40), the corner the background's blue (40, 90, 220)
    assert x[:, 16, 16].tolist() == pytest.approx([220 / 127.5 - 1, 40 / 127.5 - 1, 40 / 127.5 - 1])
    assert x[:, 0, 0].tolist() == pytest.approx([40 / 127.5 - 1, 90 / 127.5 - 1, 220 / 127.5 - 1])
    assert image_to_tensor(render(SQUARE, 64), 32).shape == (3, 32, 32)
    assert torch.equal(image_to_tensor(render(SQUARE, 32), 32), x)  # the right size: not resampled


def test_the_dataset_uses_the_same_rule():
    from helpers.shapes import dataset

    assert dataset.image_to_tensor is image_to_tensor


def test_encode_latents_are_the_scaled_posterior_means(tiny_pipeline_dir):
    vae = _vae(tiny_pipeline_dir)
    pixels = torch.stack([image_to_tensor(render(SQUARE, 32)), -image_to_tensor(render(SQUARE, 32))])
    means, stds = latent_distribution(vae, pixels)
    assert means.shape == stds.shape == (2, 4, 16, 16) and (stds > 0).all()
    with torch.no_grad():
        dist = vae.encode(pixels).latent_dist
    assert torch.equal(means, dist.mean) and torch.equal(stds, dist.std)
    assert torch.equal(encode_latents(vae, pixels), dist.mean * vae.config.scaling_factor)
    one_by_one, _ = latent_distribution(vae, pixels, batch=1)
    assert torch.allclose(one_by_one, means, atol=1e-5)
    with pytest.raises(ValueError, match="empty"):
        latent_distribution(vae, pixels[:0])


def test_picture_side_is_the_latent_side_times_the_vae_scale(tiny_pipeline_dir):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir, local_files_only=True)
    assert picture_side(pipe) == 8 * 2 == 16


def test_frechet_features_are_bit_identical_to_the_first_formulation(tiny_pipeline_dir):
    """vae_features as first written (uint8 -> permuted float -> encode); channels-last layout kept."""
    from PIL import Image

    from helpers.responsible.frechet import vae_features

    vae = _vae(tiny_pipeline_dir)
    pictures = [render(SQUARE, 64), render(Shape("circle", "small", "green", "left", "white"), 32)]
    side = vae.config.sample_size
    chunk = [im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC) for im in pictures]
    x = torch.from_numpy(np.stack([np.asarray(im) for im in chunk])).permute(0, 3, 1, 2)
    with torch.no_grad():
        mean = vae.encode(x.float() / 127.5 - 1).latent_dist.mean
    first = torch.nn.functional.adaptive_avg_pool2d(mean, 4).flatten(1).numpy().astype(np.float64)
    assert np.array_equal(vae_features(vae, pictures), first)


def test_inversion_and_personalize_encode_through_the_same_rule(tiny_pipeline_dir):
    from diffusers import StableDiffusionPipeline

    from helpers.editing import inversion, personalize

    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir, local_files_only=True)
    pictures = [render(SQUARE, 32).resize((16, 16)), render(SQUARE, 32).resize((16, 16)).rotate(90)]
    pixels = pipe.image_processor.preprocess(pictures)
    assert torch.equal(pixels, torch.stack([image_to_tensor(p) for p in pictures]))
    means, stds = latent_distribution(pipe.vae, pixels)
    assert torch.equal(inversion.encode_pictures(pipe, pictures), means * pipe.vae.config.scaling_factor)
    got_means, got_stds = personalize.encode(pipe, pictures, batch=1)
    assert torch.allclose(got_means, means, atol=1e-5) and torch.allclose(got_stds, stds, atol=1e-5)
