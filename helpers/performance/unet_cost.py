"""What one UNet call costs at a given latent side: time, activations, attention scores."""

from __future__ import annotations

import time
from typing import Any

import torch


def unet_cost(unet: Any, side: int, context: torch.Tensor, repeats: int = 1) -> dict[str, float]:
    """Return the cost of one UNet noise prediction on a ``side`` x ``side`` input.

    Keys: ``seconds`` (mean wall time of one call), ``activation_mib`` (every module's output,
    what training would keep for the backward pass), ``attention_mib`` (the attention score
    matrices, heads x queries x keys, if they were written out) and ``elements`` (input numbers).
    ``context`` is the text embedding (batch 1). Counts use the UNet's own dtype.
    Used in 04_inside_stable_diffusion.
    """
    from diffusers.models.attention_processor import Attention

    param = next(unet.parameters())
    x = torch.randn(1, unet.config.in_channels, side, side, device=param.device, dtype=param.dtype)
    context = context.to(param.device, param.dtype)
    t = torch.tensor([500], device=param.device)
    size = torch.finfo(param.dtype).bits // 8
    totals = {"activations": 0, "attention": 0}

    def count_output(module, args, output):
        if isinstance(output, torch.Tensor) and not list(module.children()):
            totals["activations"] += output.numel() * size

    def count_attention(module, args, kwargs, output):
        hidden = args[0] if args else kwargs["hidden_states"]
        queries = hidden.shape[1] if hidden.ndim == 3 else hidden.shape[2] * hidden.shape[3]
        encoder = kwargs.get("encoder_hidden_states")
        keys = encoder.shape[1] if encoder is not None else queries
        totals["attention"] += hidden.shape[0] * module.heads * queries * keys * size

    hooks = [m.register_forward_hook(count_output) for m in unet.modules()]
    hooks += [m.register_forward_hook(count_attention, with_kwargs=True)
              for m in unet.modules() if isinstance(m, Attention)]
    try:
        with torch.no_grad():
            unet(x, t, encoder_hidden_states=context)  # warm-up, and the counts
            counts = dict(totals)
            if param.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(repeats):
                unet(x, t, encoder_hidden_states=context)
            if param.device.type == "cuda":
                torch.cuda.synchronize()
            seconds = (time.perf_counter() - start) / repeats
    finally:
        for hook in hooks:
            hook.remove()
    return {
        "seconds": seconds,
        "activation_mib": counts["activations"] / 2**20,
        "attention_mib": counts["attention"] / 2**20,
        "elements": float(x.numel()),
    }
