"""SD 1.5's real components, built from the configs in data/sd15-architecture/ with random weights.

Each JSON file there holds one component's public config (the hub config.json it mirrors, and
where the values were read), and, where one is published, its parameter count. ``build()``
makes the module on any device (``"meta"`` costs nothing and is what the FLOP counts use);
nothing is downloaded. Used by tools/rehearse_sd15.py and tests/test_sd15_architecture.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
ARCH_DIR = ROOT / "data" / "sd15-architecture"
#: Component name -> file in ARCH_DIR.
COMPONENTS: tuple[str, ...] = ("unet", "unet_inpaint", "unet_instruct_pix2pix", "vae", "text_encoder",
                               "controlnet", "clip_vit_b32", "safety_checker")


def spec(name: str) -> dict[str, Any]:
    """Return the JSON record of component ``name`` (config, sources, published parameter count)."""
    if name not in COMPONENTS:
        raise ValueError(f"unknown component {name!r}; pick one of {', '.join(COMPONENTS)}.")
    return json.loads((ARCH_DIR / f"{name}.json").read_text())


def build(name: str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Return component ``name`` with random weights (float32) on ``device``, in eval mode."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPModel, CLIPTextConfig, CLIPTextModel

    config = spec(name)["config"]
    with torch.device(device):
        if name.startswith("unet"):
            module = UNet2DConditionModel(**config)
        elif name == "vae":
            module = AutoencoderKL(**config)
        elif name == "controlnet":
            module = ControlNetModel.from_unet(UNet2DConditionModel(**spec("unet")["config"]))
        elif name == "text_encoder":
            module = CLIPTextModel(CLIPTextConfig(**config))
        elif name == "clip_vit_b32":
            module = CLIPModel(CLIPConfig(**config))
        else:  # safety_checker
            module = StableDiffusionSafetyChecker(CLIPConfig(**config))
    return module.eval()


def parameters(module: torch.nn.Module) -> int:
    """Return the number of parameters of ``module``."""
    return int(sum(p.numel() for p in module.parameters()))
