"""Stable Diffusion's safety checker: what it is, what it costs, and running it on pictures.

``StableDiffusionSafetyChecker`` (diffusers) is a CLIP ViT-L/14 image encoder plus 17 fixed
"concept" embeddings and 3 "special care" ones, each with a hand-set threshold. A picture
whose embedding is closer (cosine) to any concept than its threshold is flagged, and the
pipeline replaces it with an all-black picture. The concepts are not named in the weights.

The workbook loads its pipelines with ``safety_checker=None`` (``helpers.core.loading``); this
module loads the checker on its own, from the registry's ``safety-checker`` entry, so a
notebook can show what it does and costs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

#: The checker's image encoder, as in the config.json of the registry's safety-checker repo
#: (CLIP ViT-L/14 at 224 px) and its projection to CLIP's 768-dimensional embedding space.
VISION_CONFIG: dict[str, int] = {"hidden_size": 1024, "intermediate_size": 4096,
                                 "num_attention_heads": 16, "num_hidden_layers": 24,
                                 "patch_size": 14, "image_size": 224}
PROJECTION_DIM = 768

#: Loaded (checker, feature extractor) pairs, keyed by (device, dtype).
_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}


def safety_checker_cost() -> dict[str, float]:
    """Return the real checker's size from its architecture alone (built on the meta device).

    Keys: parameters, float16_mib, float32_mib, concepts, special_care, image_size. No
    weights are read or downloaded, so this works offline.
    Used in 10_responsible_generation.
    """
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig

    config = CLIPConfig(vision_config=VISION_CONFIG, projection_dim=PROJECTION_DIM)
    with torch.device("meta"):
        checker = StableDiffusionSafetyChecker(config)
    parameters = sum(p.numel() for p in checker.parameters())
    return {"parameters": parameters, "float16_mib": parameters * 2 / 2**20,
            "float32_mib": parameters * 4 / 2**20, "concepts": int(checker.concept_embeds.shape[0]),
            "special_care": int(checker.special_care_embeds.shape[0]),
            "image_size": VISION_CONFIG["image_size"]}


def load_safety_checker(device: torch.device | str | None = None,
                        dtype: torch.dtype | None = None) -> tuple[Any, Any]:
    """Return ``(StableDiffusionSafetyChecker, CLIPImageProcessor)`` from the registry, loaded once.

    Needs the hub or a cached copy (about 1.2 GB); offline without a copy it raises
    ``ModelNotAvailableError`` saying so. Defaults: the workbook's device and its dtype there.
    Used in 10_responsible_generation.
    """
    from helpers.core.device import default_dtype, pick_device
    from helpers.core.loading import _ensure_available
    from helpers.core.registry import get_model

    device = torch.device(device) if device is not None else pick_device()
    dtype = dtype if dtype is not None else default_dtype(device)
    key = (str(device), str(dtype))
    if key not in _LOADED:
        from diffusers.pipelines.stable_diffusion.safety_checker import (
            StableDiffusionSafetyChecker,
        )
        from transformers import CLIPImageProcessor

        entry = get_model("safety-checker")
        _ensure_available(entry)
        checker = StableDiffusionSafetyChecker.from_pretrained(entry.hub_id, dtype=dtype)
        extractor = CLIPImageProcessor.from_pretrained(entry.hub_id)
        _LOADED[key] = (checker.to(device).eval(), extractor)
    return _LOADED[key]


def run_safety_checker(checker: Any, feature_extractor: Any,
                       images: Sequence[Image.Image]) -> tuple[list[Image.Image], list[bool], float]:
    """Return ``(pictures, flags, seconds)``: the checker's verdict on ``images``, as a pipeline runs it.

    A flagged picture comes back all black, exactly as from the pipeline; ``seconds`` is the
    time the check took (feature extraction and the CLIP encoder).
    Used in 10_responsible_generation.
    """
    if len(images) == 0:
        raise ValueError("run_safety_checker needs at least one picture")
    parameter = next(checker.parameters())
    start = time.perf_counter()
    arrays = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) / 255 for im in images])
    clip_input = feature_extractor([im.convert("RGB") for im in images], return_tensors="pt")
    pixel_values = clip_input.pixel_values.to(device=parameter.device, dtype=parameter.dtype)
    checked, flags = checker(images=arrays.copy(), clip_input=pixel_values)
    if parameter.device.type == "cuda":
        torch.cuda.synchronize(parameter.device)
    seconds = time.perf_counter() - start
    pictures = [Image.fromarray(np.clip(np.rint(np.asarray(a) * 255), 0, 255).astype(np.uint8))
                for a in checked]
    return pictures, [bool(f) for f in flags], seconds
