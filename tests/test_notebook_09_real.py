"""09_editing_and_personalization on the real-SD code path: tiny sd15, InstructPix2Pix and LCM-LoRA offline."""

from __future__ import annotations

import shutil

import pytest
from real_backend import run_with_real_backend

from conftest import build_tiny_pipeline, point_hub_at, snapshot_dir


def build_tiny_instruct_pix2pix(seed: int = 0):
    """Return a random-weight StableDiffusionInstructPix2PixPipeline: the tiny SD with an 8-channel UNet."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    parts = build_tiny_pipeline(in_channels=8, seed=seed).components
    return StableDiffusionInstructPix2PixPipeline(**parts, requires_safety_checker=False)


def save_tiny_lcm_lora(folder, seed: int = 0) -> None:
    """Write a non-zero rank-2 LoRA for the tiny sd15's UNet as pytorch_lora_weights.safetensors."""
    import torch

    from helpers.editing.personalize import add_lora, save_lora

    pipe = build_tiny_pipeline(seed=0)
    params = add_lora(pipe, rank=2)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in params:
            p.copy_(0.05 * torch.randn(p.shape, generator=generator))
    save_lora(pipe, folder)


@pytest.fixture
def hub_with_editing_models(hub_cache_dir, tmp_path, monkeypatch):
    """The shared tiny hub cache plus a tiny instruct-pix2pix and a tiny LCM-LoRA under their real ids."""
    from helpers.core.registry import REGISTRY

    cache = tmp_path / "hub"
    shutil.copytree(hub_cache_dir, cache)
    build_tiny_instruct_pix2pix().save_pretrained(snapshot_dir(cache, REGISTRY["instruct-pix2pix"].hub_id))
    save_tiny_lcm_lora(snapshot_dir(cache, REGISTRY["lcm-lora-sd15"].hub_id))
    point_hub_at(monkeypatch, cache)
    return cache


def test_tiny_instruct_pix2pix_takes_eight_channels():
    pipe = build_tiny_instruct_pix2pix()
    assert type(pipe).__name__ == "StableDiffusionInstructPix2PixPipeline"
    assert pipe.unet.config.in_channels == 8


def test_notebook_09_runs_on_real_sd15(hub_with_editing_models, monkeypatch):
    ns = run_with_real_backend("09_editing_and_personalization.ipynb", monkeypatch)
    assert ns["model"] == "sd15"
    assert ns["photo_back"].size == ns["photo"].size  # inversion ran on the real pipeline
    assert type(ns["ip2p"]).__name__ == "StableDiffusionInstructPix2PixPipeline"
    assert ns["ip2p"].unet.config.in_channels == 8
    assert len(ns["winter"]) == len(ns["image_scales"]) * len(ns["text_scales"])
    assert len(ns["lcm_pictures"]) == 3
    assert type(ns["pipe"].scheduler).__name__ == "PNDMScheduler"  # put back after LCM
    assert ns["recipe"]["steps"] == ns["recipe_steps"] and ns["recipe"]["seconds_per_step"] > 0
    assert "recipe" not in getattr(ns["pipe"].unet, "peft_config", {})  # the recipe's adapter is gone
    # The measured sections ran on the bundled model all the same.
    assert ns["mini"] is not ns["pipe"] and ns["comparison"]["LoRA rank 4"]["trainable numbers"] > 0
