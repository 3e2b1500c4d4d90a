"""One way to hash weights (names, dtypes, shapes, bytes), shared by the generation cache and checkpoints.

The generation cache keys a picture by the weights that drew it; a checkpoint trained on top of a
model records that model's weights. Both hash the same things in the same order, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def tensor_bytes(tensor: torch.Tensor) -> bytes:
    """Return ``tensor``'s values as raw bytes (on the CPU, contiguous); b"" for an empty tensor.

    Used by helpers.core.{generation_cache, weights_hash} (no notebook calls it).
    """
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def hash_tensors(h: Any, named: Iterable[tuple[str, torch.Tensor]]) -> Any:
    """Return the hashlib object ``h`` after feeding it each tensor's name, dtype, shape and bytes.

    Used by helpers.core.{checkpoints, generation_cache} (no notebook calls it).
    """
    for name, tensor in named:
        h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        h.update(tensor_bytes(tensor))
    return h
