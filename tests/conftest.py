"""Shared fixtures: tiny random-weight diffusers pipelines, saved where the real ones would be.

``hub_cache`` fills a temporary Hugging Face cache (models--org--name/snapshots/<commit>/...,
refs/main) under the real repo ids of the registry, so ``load_pipeline(model="sd15")`` runs
offline through exactly the code a Colab student runs. Building everything takes a few seconds.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch

FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN_LENGTH = 16  # the tiny tokenizer's model_max_length; the pipeline pads prompts to it


def build_tiny_pipeline(in_channels: int = 4, seed: int = 0):
    """Return a random-weight StableDiffusionPipeline small enough to run in a second on a CPU.

    Images are 16x16: latents are 8x8 (sample_size) and the two-block VAE scales by 2.
    ``in_channels=9`` gives an inpainting UNet like the real inpainting repo's.
    """
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=32,
        sample_size=32,
    )
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits + ".,!?'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=TOKEN_LENGTH)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=TOKEN_LENGTH,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            projection_dim=32,
        )
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        skip_prk_steps=True,
        steps_offset=1,
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def build_tiny_controlnet(seed: int = 0):
    """Return a random-weight ControlNetModel matching ``build_tiny_pipeline``'s UNet."""
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    return ControlNetModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        in_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=32,
        attention_head_dim=4,
        conditioning_embedding_out_channels=(16, 32),
    )


def snapshot_dir(cache: Path, repo_id: str) -> Path:
    """Return (and create) the snapshot folder of ``repo_id`` in hub cache ``cache``, with refs/main."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(FAKE_COMMIT)
    folder = repo / "snapshots" / FAKE_COMMIT
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_with_fp16_variant(model, folder: Path) -> None:
    """Save ``model`` in float32 and again as the ``fp16`` variant (``*.fp16.safetensors``)."""
    model.save_pretrained(folder)
    model.to(torch.float16).save_pretrained(folder, variant="fp16")
    model.to(torch.float32)


@pytest.fixture(scope="session")
def bundled_pipe():
    """The shipped mini-sd from data/models, loaded offline once, without progress bars."""
    from diffusers import StableDiffusionPipeline

    from helpers.core.config import BUNDLED_MODEL_DIR

    pipe = StableDiffusionPipeline.from_pretrained(BUNDLED_MODEL_DIR, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def tiny_pipeline_dir(tmp_path_factory) -> Path:
    """A folder holding a tiny pipeline made by ``save_pretrained``, like data/models/mini-sd."""
    folder = tmp_path_factory.mktemp("models") / "mini-sd"
    build_tiny_pipeline().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def hub_cache_dir(tmp_path_factory) -> Path:
    """A Hugging Face hub cache holding tiny sd15 (fp32 + fp16 variant), sd15-inpaint and openpose."""
    from helpers.core.registry import REGISTRY

    cache = tmp_path_factory.mktemp("hf_cache") / "hub"
    save_with_fp16_variant(build_tiny_pipeline(), snapshot_dir(cache, REGISTRY["sd15"].hub_id))
    save_with_fp16_variant(
        build_tiny_pipeline(in_channels=9),
        snapshot_dir(cache, REGISTRY["sd15-inpaint"].hub_id),
    )
    save_with_fp16_variant(
        build_tiny_controlnet(), snapshot_dir(cache, REGISTRY["controlnet-openpose"].hub_id)
    )
    return cache


def point_hub_at(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Make the hub offline and its cache ``cache``, for this test only (env and live constants)."""
    from huggingface_hub import constants

    import helpers.core.loading

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(helpers.core.loading, "_CACHE", {})


@pytest.fixture
def offline_hub(hub_cache_dir, monkeypatch) -> Path:
    """An offline hub whose cache holds the tiny models under the real repo ids."""
    point_hub_at(monkeypatch, hub_cache_dir)
    return hub_cache_dir


@pytest.fixture
def empty_offline_hub(tmp_path, monkeypatch) -> Path:
    """An offline hub with an empty cache: nothing real can be loaded."""
    cache = tmp_path / "empty_hub"
    cache.mkdir()
    point_hub_at(monkeypatch, cache)
    return cache
