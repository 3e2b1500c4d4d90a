"""unet_cost: counts grow with the area (activations) and the area squared (attention)."""

from __future__ import annotations

import torch

from conftest import build_tiny_pipeline
from helpers.performance.unet_cost import unet_cost


def test_costs_grow_with_area_and_attention_with_its_square():
    pipe = build_tiny_pipeline()
    context = torch.zeros(1, 16, pipe.text_encoder.config.hidden_size)
    small = unet_cost(pipe.unet, 8, context)
    big = unet_cost(pipe.unet, 16, context)
    assert small["elements"] == 4 * 8 * 8 and big["elements"] == 4 * small["elements"]
    assert small["seconds"] > 0 and small["activation_mib"] > 0
    assert 3.5 < big["activation_mib"] / small["activation_mib"] <= 4.0
    # The tiny UNet attends only in its 4x4 (then 8x8) block: self-attention grows 16x,
    # cross-attention to the 16 text tokens 4x, so the total grows between the two.
    assert 4.0 < big["attention_mib"] / small["attention_mib"] < 16.0


def test_attention_is_counted_exactly_for_one_block():
    pipe = build_tiny_pipeline()
    context = torch.zeros(1, 16, pipe.text_encoder.config.hidden_size)
    cost = unet_cost(pipe.unet, 8, context)
    # After the first (plain) down block the latents are 4x4 = 16 tokens. Transformer layers:
    # 1 in the cross-attention down block, 1 in the mid block, 2 in the up block. Each has a
    # self-attention (heads x 16 x 16) and a cross-attention to the 16 text tokens (heads x 16 x 16).
    heads = 4  # the tiny config's attention_head_dim=4, which diffusers reads as the head count
    per_layer = 2 * heads * 16 * 16 * 4  # bytes, float32
    expected = 4 * per_layer / 2**20
    assert {m.heads for m in pipe.unet.modules() if hasattr(m, "heads")} == {heads}
    assert abs(cost["attention_mib"] - expected) < 1e-9
    assert cost["activation_mib"] > 0
