"""CLIP score: how well a picture matches its prompt, for the real Stable Diffusion backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

#: Loaded (model, processor) pairs, keyed by (hub id, device).
_CLIP: dict[tuple[str, str], tuple[Any, Any]] = {}


def load_clip(device: torch.device | str = "cpu") -> tuple[Any, Any]:
    """Return ``(CLIPModel, CLIPProcessor)`` for the registry's CLIP ViT-B/32, loaded once.

    Downloads from the hub the first time (or reads the local Hugging Face cache).
    Used in 10_responsible_generation.
    """
    from transformers import CLIPModel, CLIPProcessor

    from helpers.core.registry import REGISTRY

    hub_id = REGISTRY["clip-vit-b32"].hub_id
    key = (hub_id, str(device))
    if key not in _CLIP:
        model = CLIPModel.from_pretrained(hub_id).to(device).eval()
        _CLIP[key] = (model, CLIPProcessor.from_pretrained(hub_id))
    return _CLIP[key]


def clip_score(
    images: Sequence[Any], prompts: Sequence[str], model: Any = None, processor: Any = None
) -> float:
    """Return the mean CLIP score of ``images`` against ``prompts``: 100 x cosine, floored at 0.

    This is the usual text-to-image adherence number (about 30 for a good SD 1.5 picture
    with ViT-B/32, near 15-20 for an unrelated one). ``model``/``processor`` default to
    ``load_clip()`` on the CPU. Prompts longer than CLIP's 77 tokens are truncated.
    Used in 05_running_stable_diffusion, 06_prompt_engineering, 10_responsible_generation.
    """
    if len(images) != len(prompts):
        raise ValueError(f"{len(images)} images but {len(prompts)} prompts")
    if not prompts:
        raise ValueError("clip_score needs at least one image")
    if model is None or processor is None:
        model, processor = load_clip()
    device = next(model.parameters()).device
    inputs = processor(text=list(prompts), images=[im.convert("RGB") for im in images],
                       return_tensors="pt", padding=True, truncation=True)
    inputs = {k: v.to(device) for k, v in inputs.items()}
    with torch.no_grad():
        out = model(**inputs)
    image = out.image_embeds / out.image_embeds.norm(dim=-1, keepdim=True)
    text = out.text_embeds / out.text_embeds.norm(dim=-1, keepdim=True)
    cosine = (image * text).sum(-1)
    return float((100 * cosine.clamp(min=0)).mean())
