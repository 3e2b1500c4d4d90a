"""SD 3.5 Medium's real components (no T5), built from the configs in data/sd35-architecture/ with random weights.

Each JSON file there holds one component's public config (the hub config.json it mirrors: the repo is
gated, so the values were read from diffusers' conversion script and Stability AI's reference code,
named in its ``values_from``). ``build()`` makes the module on any device (``"meta"`` costs nothing and
is what the FLOP counts use); nothing is downloaded. The T5 (``text_encoder_3``) is left out on
purpose: the workbook loads SD 3.5 Medium without it. Used by tools/rehearse_sd35.py and tools/t4_costs.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
ARCH_DIR = ROOT / "data" / "sd35-architecture"
#: Component name (the pipeline's attribute) -> file in ARCH_DIR. text_encoder is CLIP-L, text_encoder_2 CLIP-G.
COMPONENTS: tuple[str, ...] = ("transformer", "text_encoder", "text_encoder_2", "vae")


def spec(name: str) -> dict[str, Any]:
    """Return the JSON record of component ``name`` (config, sources)."""
    if name not in COMPONENTS:
        raise ValueError(f"unknown component {name!r}; pick one of {', '.join(COMPONENTS)}.")
    return json.loads((ARCH_DIR / f"{name}.json").read_text())


def build(name: str, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Return component ``name`` with random weights (float32) on ``device``, in eval mode."""
    from diffusers import AutoencoderKL, SD3Transformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    config = spec(name)["config"]
    with torch.device(device):
        if name == "transformer":
            module = SD3Transformer2DModel(**config)
        elif name == "vae":
            module = AutoencoderKL(**config)
        else:  # the two CLIPs
            module = CLIPTextModelWithProjection(CLIPTextConfig(**config))
    return module.eval()


def parameters(module: torch.nn.Module) -> int:
    """Return the number of parameters of ``module``."""
    return int(sum(p.numel() for p in module.parameters()))
