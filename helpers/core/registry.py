"""The one registry of every model the workbook may load: hub ids are written here and nowhere else.

Notebooks never write a hub id; they ask for a key such as ``"sd15"`` or let
``helpers.load_pipeline()`` choose. When a repository moves, fix it here only.
(runwayml's SD 1.5 repos were deleted in 2024 and Stability's SD 2.x / sd-turbo
repos in 2025, which broke several well-known courses; none of those appear here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from helpers.core.config import BUNDLED_CONTROLNET_DIR, BUNDLED_MODEL_DIR, BUNDLED_SD3_DIR

TASKS: tuple[str, ...] = ("text2img", "img2img", "inpaint", "controlnet")


@dataclass(frozen=True)
class ModelEntry:
    """One model: where it lives, how to load it and how to use it.

    Used by helpers.core.{gated, loading, registry} (no notebook calls it).
    """

    key: str
    hub_id: str | None  # None for models bundled in data/models/
    pipeline_class: str  # diffusers class used to load it
    tasks: tuple[str, ...]
    licence: str
    has_fp16_variant: bool = False
    dtype: str = "float16"  # recommended on a GPU; a CPU always uses float32
    steps: int = 30
    guidance: float = 7.5
    probe_file: str = "model_index.json"  # a file whose presence in the cache means "cached"
    local_dir: str | None = None  # path of a bundled model
    notes: str = ""
    kind: str = field(default="pipeline")  # pipeline | controlnet | lora | clip | safety
    family: str = "sd15"  # sd15 | sd3: which generation of Stable Diffusion's parts it is made of
    gated: bool = False  # the hub asks each user to accept the licence (and log in) before downloading
    licence_url: str = ""  # where a gated model's licence is accepted
    #: components loaded as None: SD 3's T5 text encoder (4.7 B parameters, 9.5 GB in float16)
    #: does not fit a T4 beside the rest; the pipeline then fills the T5 tokens with zeros.
    skip_components: tuple[str, ...] = ()


REGISTRY: dict[str, ModelEntry] = {
    entry.key: entry
    for entry in (
        ModelEntry(
            key="sd15",
            hub_id="stable-diffusion-v1-5/stable-diffusion-v1-5",
            pipeline_class="StableDiffusionPipeline",
            tasks=("text2img", "img2img", "inpaint", "controlnet"),
            licence="creativeml-openrail-m",
            has_fp16_variant=True,
            steps=30,
            guidance=7.5,
            notes="Stable Diffusion 1.5, 512x512; the community mirror of the deleted runwayml repo.",
        ),
        ModelEntry(
            key="sd15-inpaint",
            hub_id="stable-diffusion-v1-5/stable-diffusion-inpainting",
            pipeline_class="StableDiffusionInpaintPipeline",
            tasks=("inpaint",),
            licence="creativeml-openrail-m",
            has_fp16_variant=True,
            steps=30,
            guidance=7.5,
            notes="SD 1.5 fine-tuned for inpainting (9-channel UNet: latents, mask, masked image).",
        ),
        ModelEntry(
            key="controlnet-openpose",
            hub_id="lllyasviel/control_v11p_sd15_openpose",
            pipeline_class="ControlNetModel",
            tasks=("controlnet",),
            licence="openrail",
            has_fp16_variant=True,
            probe_file="config.json",
            kind="controlnet",
            notes="ControlNet 1.1 conditioned on OpenPose skeletons; pairs with sd15.",
        ),
        ModelEntry(
            key="controlnet-canny",
            hub_id="lllyasviel/control_v11p_sd15_canny",
            pipeline_class="ControlNetModel",
            tasks=("controlnet",),
            licence="openrail",
            has_fp16_variant=True,
            probe_file="config.json",
            kind="controlnet",
            notes="ControlNet 1.1 conditioned on Canny edges; pairs with sd15.",
        ),
        ModelEntry(
            key="lcm-lora-sd15",
            hub_id="latent-consistency/lcm-lora-sdv1-5",
            pipeline_class="LCMScheduler + load_lora_weights",
            tasks=("text2img", "img2img"),
            licence="openrail++",
            steps=4,
            guidance=1.0,
            probe_file="pytorch_lora_weights.safetensors",
            kind="lora",
            notes="Latent Consistency LoRA for sd15: 4 steps, guidance 1.0; fast live demos on a free T4.",
        ),
        ModelEntry(
            key="instruct-pix2pix",
            hub_id="timbrooks/instruct-pix2pix",
            pipeline_class="StableDiffusionInstructPix2PixPipeline",
            tasks=("img2img",),
            licence="mit",
            has_fp16_variant=False,
            steps=20,
            guidance=7.5,
            notes="Edits an image from an instruction; also takes image_guidance_scale (about 1.5).",
        ),
        ModelEntry(
            key="clip-vit-b32",
            hub_id="openai/clip-vit-base-patch32",
            pipeline_class="CLIPModel",
            tasks=("clip-score",),
            licence="mit",
            dtype="float32",
            steps=0,
            guidance=0.0,
            probe_file="config.json",
            kind="clip",
            notes="CLIP ViT-B/32 for CLIP score (text-image similarity).",
        ),
        ModelEntry(
            key="mini-sd",
            hub_id=None,
            pipeline_class="StableDiffusionPipeline",
            tasks=("text2img", "img2img", "inpaint", "controlnet"),
            licence="MIT (trained for this workbook)",
            dtype="float32",
            steps=20,  # how it is meant to be sampled: its card's evaluation table backs the choice
            guidance=5.0,
            local_dir=str(BUNDLED_MODEL_DIR),
            notes="Bundled mini Stable Diffusion trained on the Shapes data; runs on a CPU, offline.",
        ),
        ModelEntry(
            key="sd35-medium",
            hub_id="stabilityai/stable-diffusion-3.5-medium",
            pipeline_class="StableDiffusion3Pipeline",
            tasks=("text2img",),
            licence="stabilityai-ai-community (free under USD 1M annual revenue; gated: accept it on the model page)",
            steps=28,
            guidance=4.5,
            family="sd3",
            gated=True,
            licence_url="https://huggingface.co/stabilityai/stable-diffusion-3.5-medium",
            skip_components=("text_encoder_3", "tokenizer_3"),
            notes="SD 3.5 Medium: MMDiT-X transformer (2.5 B), flow matching, CLIP-L + CLIP-G; loaded without "
            "its T5 so that it fits a 15 GB T4 in float16.",
        ),
        ModelEntry(
            key="mini-sd3",
            hub_id=None,
            pipeline_class="StableDiffusion3Pipeline",
            tasks=("text2img",),
            licence="MIT (trained for this workbook)",
            dtype="float32",
            steps=4,  # its card's comparison table backs the choice
            guidance=1.0,  # no classifier-free guidance: it follows its prompts without (the card)
            local_dir=str(BUNDLED_SD3_DIR),
            family="sd3",
            skip_components=("text_encoder_3", "tokenizer_3"),
            notes="Bundled mini Stable Diffusion 3 (MMDiT, flow matching, two CLIPs, no T5) trained on the "
            "Shapes data; runs on a CPU, offline.",
        ),
        ModelEntry(
            key="mini-controlnet-pose",
            hub_id=None,
            pipeline_class="ControlNetModel",
            tasks=("controlnet",),
            licence="MIT (trained for this workbook)",
            dtype="float32",
            steps=20,
            guidance=5.0,
            probe_file="config.json",
            local_dir=str(BUNDLED_CONTROLNET_DIR),
            kind="controlnet",
            notes="Bundled mini pose ControlNet for mini-sd (ControlNetModel.from_unet), trained here.",
        ),
        ModelEntry(
            key="safety-checker",
            hub_id="CompVis/stable-diffusion-safety-checker",
            pipeline_class="StableDiffusionSafetyChecker",
            tasks=("safety",),
            licence="not stated (its model card: 'More information needed')",
            dtype="float16",
            steps=0,
            guidance=0.0,
            probe_file="config.json",
            kind="safety",
            notes="SD's NSFW safety checker: CLIP ViT-L/14 image encoder + 17 fixed concept embeddings; "
            "flagged pictures come back black. The workbook's pipelines load without it (10 shows why).",
        ),
    )
}


#: Each family's real model and bundled stand-in: what ``load_pipeline(family=...)`` chooses between.
FAMILIES: dict[str, dict[str, str]] = {
    "sd15": {"real": "sd15", "bundled": "mini-sd"},
    "sd3": {"real": "sd35-medium", "bundled": "mini-sd3"},
}


def get_model(key: str) -> ModelEntry:
    """Return the registry entry for ``key``; the error lists the known keys.

    Used by helpers.core.loading, helpers.responsible.safety (no notebook calls it).
    """
    if key not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown model {key!r}. Known models: {known}, or 'auto'.")
    return REGISTRY[key]


def hub_ids() -> list[str]:
    """Return every hub id in the registry.

    Used only by tests/test_models.py (no notebook, helper or tool calls it).
    """
    return [entry.hub_id for entry in REGISTRY.values() if entry.hub_id]
