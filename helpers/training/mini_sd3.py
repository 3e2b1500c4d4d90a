"""The parts of the mini Stable Diffusion 3: the same diffusers and transformers classes as SD 3.

SD 3 replaced SD 1.5's UNet with a transformer over latent patches (MMDiT,
``SD3Transformer2DModel``: text and image tokens in one attention), its noise schedule with
flow matching (``FlowMatchEulerDiscreteScheduler``) and its one CLIP text encoder with two CLIPs
(``CLIPTextModelWithProjection``) and a T5. The mini model keeps every class and drops the T5
(``text_encoder_3=None``: the pipeline then fills the T5 tokens with zeros, as a student who
loads SD 3.5 without its T5 gets). It reuses mini-sd's VAE and word tokenizer, so the two
bundled models see the same latents and the same words.
``train_mini_sd3`` trains the transformer and both text encoders.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The scheduler's shift (sigma -> shift*sigma / (1 + (shift-1)*sigma)), which spends more steps
#: at high noise.
FLOW_SHIFT = 1.0  # the scheduler's shift: SD 3 uses 3.0 at 1024 px; an 8x8 latent needs none


@dataclass
class MiniSD3Config:
    """Sizes of the mini SD 3's parts (the shipped defaults, or a tiny test config).

    Used by helpers.training.{mini_sd3, train_mini_sd3} (no notebook calls it).
    """

    latent_side: int = 8
    latent_channels: int = 8
    patch_size: int = 1
    layers: int = 4
    heads: int = 4
    head_dim: int = 32
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_length: int = 32


def build_text_encoder(config: MiniSD3Config, tokenizer):
    """Return an untrained CLIPTextModelWithProjection (SD 3's CLIP class) for the mini vocabulary.

    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    from helpers.training.mini_sd import build_text_encoder as build_clip

    return build_clip(config, tokenizer, with_projection=True)


def build_transformer(config: MiniSD3Config):
    """Return an untrained SD3Transformer2DModel (MMDiT) over the latent grid.

    The text side is what the pipeline hands it: the two CLIPs' penultimate hidden states
    side by side (2 x ``text_hidden`` features per token) and their pooled outputs side by side.
    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    from diffusers import SD3Transformer2DModel

    joint = 2 * config.text_hidden
    inner = config.heads * config.head_dim
    return SD3Transformer2DModel(
        sample_size=config.latent_side, patch_size=config.patch_size,
        in_channels=config.latent_channels, out_channels=config.latent_channels,
        num_layers=config.layers, attention_head_dim=config.head_dim,
        num_attention_heads=config.heads, joint_attention_dim=joint,
        caption_projection_dim=inner, pooled_projection_dim=joint,
        pos_embed_max_size=2 * config.latent_side // config.patch_size,
    )


def build_scheduler():
    """Return SD 3's flow-matching Euler scheduler with the mini model's shift.

    Used by helpers.training.mini_sd3 (no notebook calls it).
    """
    from diffusers import FlowMatchEulerDiscreteScheduler

    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=FLOW_SHIFT)


def assemble_pipeline(vae, text_encoder, text_encoder_2, tokenizer, transformer):
    """Return a StableDiffusion3Pipeline of the given parts, without a T5 (both CLIPs share the tokenizer).

    The VAE gets ``shift_factor`` 0 (SD 3's pipeline subtracts it before scaling; mini-sd's VAE
    has none).
    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    from diffusers import StableDiffusion3Pipeline

    if vae.config.get("shift_factor") is None:
        vae.register_to_config(shift_factor=0.0)
    return StableDiffusion3Pipeline(
        transformer=transformer, scheduler=build_scheduler(), vae=vae,
        text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer,
        text_encoder_3=None, tokenizer_3=None,
    )
