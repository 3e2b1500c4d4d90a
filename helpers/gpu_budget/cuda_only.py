"""The GPU work of notebook cells that run only on a CUDA GPU, written out by hand from their code.

``helpers.gpu_budget.counting.count_work`` counts a notebook by running it on the CPU, so a branch under
``if device.type == "cuda":`` never runs there and is never counted. Each such cell is listed in
``HAND_COUNTED`` with a hash of its source and a function that returns the calls it makes on a T4;
tests/test_gpu_budget.py adds them to the notebook's count and fails when a CUDA-only cell is not
listed or its source no longer matches the hash (then read the cell again and fix its function).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from helpers.core.config import REPO_ROOT
from helpers.core.registry import REGISTRY
from helpers.gpu_budget.counting import SD_SIDE, Call
from helpers.gpu_budget.estimate import FLOAT32_SUFFIX

#: ``helpers.time_per_image`` makes one untimed warm-up call and then ``repeats`` (1 by default) timed ones.
TIMING_CALLS = 2


#: What marks a branch that runs only on a CUDA GPU in a notebook cell.
CUDA_ONLY_MARK = 'device.type == "cuda"'


def cuda_only_cells(name: str) -> dict[str, str]:
    """Return {cell id: source} of notebook ``name``'s code cells with a branch that runs only on CUDA.

    Used by tools/gpu_budget.py (no notebook calls it).
    """
    cells = json.loads((REPO_ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    sources = {c.get("id", "?"): "".join(c["source"]) for c in cells if c["cell_type"] == "code"}
    return {cell: source for cell, source in sources.items() if CUDA_ONLY_MARK in source}


def source_hash(source: str) -> str:
    """Return the short hash a cell's source is known by in ``HAND_COUNTED``.

    Used by helpers.gpu_budget.cuda_only (no notebook calls it).
    """
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _pipeline_call(steps: int, guidance: float, resident: tuple[str, ...], *,
                   float32: bool = False) -> list[Call]:
    """Return the calls of one SD 1.5 text-to-image call of one 512-px picture (VAE slicing on)."""
    latents = 2 if guidance > 1 else 1  # classifier-free guidance: the prompt and the empty prompt

    def call(unit: str, batch: int, side: int, sliced: bool = False) -> Call:
        return Call(unit, "sd15", batch, side, side, resident, sliced, 0.0, float32)

    return ([call("text_encode", 1, 0) for _ in range(latents)]
            + [call("unet_eval", latents, SD_SIDE) for _ in range(steps)]
            + [call("vae_decode", 1, SD_SIDE, sliced=True)])


def _speed_rows(loaded: tuple[str, ...]) -> list[Call]:
    """05's speed cell on a GPU: float32, LCM-LoRA and model CPU offload, each timed by time_per_image."""
    sd, lcm = REGISTRY["sd15"], REGISTRY["lcm-lora-sd15"]
    calls: list[Call] = []
    for _ in range(TIMING_CALLS):  # a second SD 1.5 in float32 beside the float16 one
        calls += _pipeline_call(sd.steps, sd.guidance, (*loaded, "sd15" + FLOAT32_SUFFIX), float32=True)
    for _ in range(TIMING_CALLS):  # the float16 pipe with the LCM-LoRA loaded
        calls += _pipeline_call(lcm.steps, lcm.guidance, (*loaded, "lcm-lora-sd15"))
    for _ in range(TIMING_CALLS):  # CPU offload: the same work, each part moved to the GPU when it runs
        calls += _pipeline_call(sd.steps, sd.guidance, loaded)
    return calls


@dataclass(frozen=True)
class HandCount:
    """One CUDA-only cell: its id, the hash of the source it was counted from, and its calls.

    Used by helpers.gpu_budget.cuda_only (no notebook calls it).
    """

    cell: str
    source_hash: str
    calls: Callable[[tuple[str, ...]], list[Call]]  # given the registry keys loaded in the count


#: Every CUDA-only cell of the counted notebooks, by notebook name.
HAND_COUNTED: dict[str, list[HandCount]] = {
    "05_running_stable_diffusion": [HandCount("c25", "4c11cf2d81e041de", _speed_rows)],
}


def cuda_only_calls(name: str, loaded: tuple[str, ...]) -> list[Call]:
    """Return the hand-counted calls of notebook ``name``'s CUDA-only cells, with ``loaded`` resident.

    ``loaded`` is every model the CPU count loaded (a superset of those loaded at the cell).
    Used only by tests/test_gpu_budget.py (no notebook, helper or tool calls it).
    """
    return [call for count in HAND_COUNTED.get(name, []) for call in count.calls(tuple(sorted(set(loaded))))]
