"""The parts of the mini Stable Diffusion: the same diffusers and transformers classes as SD 1.5.

``build_components(config)`` returns fresh, untrained parts; ``train_mini_sd``
trains them and ``save_pipeline`` writes the diffusers folder in ``data/models``.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.core.registry import REGISTRY
from helpers.shapes import COLORS, POSITIONS, SHAPES, SIZES
from helpers.shapes.korean import korean_caption_words

# Every word of the English caption grammar.
CAPTION_WORDS: tuple[str, ...] = tuple(sorted(
    {"a", "at", "the", "on", "and", "background", "person"}
    | set(COLORS) | set(SHAPES) | set(SIZES) | set(POSITIONS)
))
# The tokenizer's whole words: English and Korean (a model trained with ``korean_share`` 0
# simply never sees the Korean ones).
TOKENIZER_WORDS: tuple[str, ...] = tuple(sorted(set(CAPTION_WORDS) | set(korean_caption_words())))

# How the bundled model is meant to be sampled: the registry's entry is the one source.
RECOMMENDED_STEPS: int = REGISTRY["mini-sd"].steps
RECOMMENDED_GUIDANCE: float = REGISTRY["mini-sd"].guidance

# SD 1.5's noise schedule (scheduler_config.json of stable-diffusion-v1-5).
SD15_SCHEDULE = dict(
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    prediction_type="epsilon", clip_sample=False, set_alpha_to_one=False, steps_offset=1,
)


@dataclass
class MiniSDConfig:
    """Sizes of the mini model's parts (the shipped defaults, or a tiny test config).

    Used by helpers.training.{mini_sd, train_mini_sd} (no notebook calls it).
    """

    image_size: int = 64
    vae_channels: tuple[int, ...] = (16, 32, 64, 64)
    vae_layers: int = 1
    vae_groups: int = 16
    latent_channels: int = 8
    text_hidden: int = 64
    text_layers: int = 2
    text_heads: int = 4
    max_length: int = 32
    unet_channels: tuple[int, ...] = (64, 128)
    unet_head_dim: int = 8
    unet_groups: int = 32


def build_tokenizer(config: MiniSDConfig, korean: bool = True):
    """Return the mini model's CLIPTokenizer (one token per caption word, English and Korean).

    ``korean``: whether the model is trained on Korean captions too; the tokenizer's
    ``learned_words`` then hold the Korean words as well as the English ones.
    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from helpers.training.word_tokenizer import build_tokenizer as build

    return build(TOKENIZER_WORDS, model_max_length=config.max_length,
                 learned=TOKENIZER_WORDS if korean else CAPTION_WORDS)


def build_vae(config: MiniSDConfig):
    """Return an untrained AutoencoderKL that downsamples 2**(blocks-1) times (8x for 4 blocks).

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from diffusers import AutoencoderKL

    blocks = len(config.vae_channels)
    return AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=tuple(config.vae_channels), layers_per_block=config.vae_layers,
        latent_channels=config.latent_channels, norm_num_groups=config.vae_groups,
        sample_size=config.image_size,
    )


def build_text_encoder(config, tokenizer, with_projection: bool = False):
    """Return an untrained CLIPTextModel sized for the mini vocabulary (``with_projection``: SD 3's
    CLIPTextModelWithProjection). ``config`` is a MiniSDConfig or a MiniSD3Config.

    Used by helpers.training.{mini_sd3, train_mini_sd} (no notebook calls it).
    """
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    text_config = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=config.text_hidden,
        intermediate_size=4 * config.text_hidden, num_hidden_layers=config.text_layers,
        num_attention_heads=config.text_heads, max_position_embeddings=config.max_length,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, projection_dim=config.text_hidden,
    )
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(text_config)


def build_unet(config: MiniSDConfig):
    """Return an untrained UNet2DConditionModel with cross-attention in every block.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from diffusers import UNet2DConditionModel

    blocks = len(config.unet_channels)
    latent_side = config.image_size // 2 ** (len(config.vae_channels) - 1)
    return UNet2DConditionModel(
        sample_size=latent_side, in_channels=config.latent_channels,
        out_channels=config.latent_channels, layers_per_block=1,
        block_out_channels=tuple(config.unet_channels),
        down_block_types=("CrossAttnDownBlock2D",) * blocks,
        up_block_types=("CrossAttnUpBlock2D",) * blocks,
        cross_attention_dim=config.text_hidden, attention_head_dim=config.unet_head_dim,
        norm_num_groups=config.unet_groups,
    )


def build_scheduler():
    """Return a DDIM scheduler configured like SD 1.5's.

    Used by helpers.training.mini_sd (no notebook calls it).
    """
    from diffusers import DDIMScheduler

    return DDIMScheduler(**SD15_SCHEDULE)


def assemble_pipeline(vae, text_encoder, tokenizer, unet):
    """Return a StableDiffusionPipeline made of the given parts and SD 1.5's DDIM scheduler.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=build_scheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
