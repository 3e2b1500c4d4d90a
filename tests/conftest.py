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


#: SD 3.5 Medium's values the tiny SD 3 keeps (everything else is tiny). Read from public sources:
#: - diffusers' scripts/convert_sd3_to_diffusers.py (the script that made the diffusers SD 3 repos):
#:   SD3Transformer2DModel(sample_size=128, patch_size=2, in_channels=16, ..., qk_norm="rms_norm" when the
#:   checkpoint has ln_q, dual_attention_layers "(0, 1, ..., 12) for sd3.5"), and the VAE as SDXL's with
#:   latent_channels=16, use_quant_conv=False, use_post_quant_conv=False, scaling_factor=1.5305,
#:   shift_factor=0.0609: https://github.com/huggingface/diffusers/blob/58eb52c0803ea9af3abec60841c2a093bdf1f951/scripts/convert_sd3_to_diffusers.py
#: - Stability AI's reference code, https://github.com/Stability-AI/sd3.5/blob/fbf8f483f992d8d6ad4eaaeb23b1dc5f523c3b3a/sd3_infer.py
#:   ("SHIFT = 3.0", CONFIGS["sd3.5_medium"]["shift"] 3.0) and sd3_impls.py (SD3LatentFormat scale_factor
#:   1.5305, shift_factor 0.0609): the FlowMatchEulerDiscreteScheduler's shift.
#: - the model card (https://huggingface.co/stabilityai/stable-diffusion-3.5-medium): MMDiT-X, QK
#:   normalization, self-attention modules (dual attention) in the first 13 layers.
#: The full configs, with the same sources, are in data/sd35-architecture/.
SD3_VAE_SCALING, SD3_VAE_SHIFT, SD3_SCHEDULER_SHIFT = 1.5305, 0.0609, 3.0
#: model_index.json entries of the T5 the real repo names and the workbook never loads.
SD3_T5_ENTRIES = {"text_encoder_3": ["transformers", "T5EncoderModel"],
                  "tokenizer_3": ["transformers", "T5TokenizerFast"]}


def tiny_clip_tokenizer():
    """Return a CLIPTokenizer over letters, digits and a little punctuation (no download), TOKEN_LENGTH long."""
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits + ".,!?'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=TOKEN_LENGTH)


def build_tiny_sd3_pipeline(seed: int = 0):
    """Return a random-weight StableDiffusion3Pipeline with SD 3.5 Medium's structure and tiny widths, no T5.

    Kept from SD 3.5 Medium: an SD3Transformer2DModel on 16 latent channels with 2x2 patches, QK RMS
    normalization and dual attention in its first block(s) (the real one: 13 of 24), and its 1024-px
    default (sample_size 128); two CLIPTextModelWithProjection (the CLIP-L and CLIP-G roles) whose pooled
    outputs together are the transformer's pooled_projection_dim, their hidden states concatenated and
    zero-padded to joint_attention_dim (twice their width, as 2 x (768 + 1280) = 4096); a four-block
    AutoencoderKL (scale 8) with 16 latent channels, no quant convs and SD 3's scaling 1.5305 / shift
    0.0609; FlowMatchEulerDiscreteScheduler(shift=3.0). Pictures are real-sized (a 512-px picture has
    64x64 latents, 1024 image tokens) but every layer is a few channels wide, so a call takes milliseconds.
    """
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    transformer = SD3Transformer2DModel(
        sample_size=128,  # SD 3.5 Medium's: 128 latents x 8 = 1024 px by default
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,  # 32 wide (SD 3.5 Medium: 24 x 64 = 1536)
        joint_attention_dim=128,  # 2 x (32 + 32): the two CLIPs' hidden states, zero-padded
        caption_projection_dim=32,  # = the transformer's width, as in SD 3.5 Medium
        pooled_projection_dim=64,  # 32 + 32: the two CLIPs' pooled outputs
        pos_embed_max_size=96,  # up to 96 patches a side, 1536 px (SD 3.5 Medium: 384)
        dual_attention_layers=(0,),  # SD 3.5 Medium: (0, ..., 12) of 24
        qk_norm="rms_norm",
    )
    tokenizer, tokenizer_2 = tiny_clip_tokenizer(), tiny_clip_tokenizer()

    def clip(hidden_act: str):
        return CLIPTextModelWithProjection(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=TOKEN_LENGTH, bos_token_id=0, eos_token_id=1,
            pad_token_id=1, projection_dim=32, hidden_act=hidden_act))

    text_encoder = clip("quick_gelu")  # CLIP-L's activation
    text_encoder_2 = clip("gelu")  # CLIP-G's
    vae = AutoencoderKL(
        block_out_channels=(8, 8, 16, 16),  # four blocks: scale 8, as SD 3's (128, 256, 512, 512)
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=4,
        sample_size=1024,
        use_quant_conv=False,
        use_post_quant_conv=False,
        scaling_factor=SD3_VAE_SCALING,
        shift_factor=SD3_VAE_SHIFT,
        force_upcast=True,
    )
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=SD3_SCHEDULER_SHIFT),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer_2,
        text_encoder_3=None,
        tokenizer_3=None,
    )


def save_tiny_sd3(folder: Path, seed: int = 0) -> None:
    """Save the tiny SD 3 in ``folder`` as the real repo lays it out, its model_index naming a T5 whose
    folders are absent: loading it works only when the T5 is skipped, as the workbook always does."""
    import json

    build_tiny_sd3_pipeline(seed).save_pretrained(folder)
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text())
    index.update(SD3_T5_ENTRIES)
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    assert not (folder / "text_encoder_3").exists() and not (folder / "tokenizer_3").exists()


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
    """A Hugging Face hub cache holding tiny sd15 (fp32 + fp16 variant), sd15-inpaint, openpose and sd35-medium."""
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
    save_tiny_sd3(snapshot_dir(cache, REGISTRY["sd35-medium"].hub_id))  # sd35-medium, its T5 absent
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
