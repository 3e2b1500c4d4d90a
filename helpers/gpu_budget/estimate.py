"""A notebook's estimated time and peak memory on a free Colab T4, from its counted calls and per-unit costs.

The counts come from ``helpers.gpu_budget.counting.count_work``; the per-unit costs from ``data/t4_costs.json``
(SD 1.5 and SD 3.5 Medium at 512 px, batch 1, float16 on a T4; its "method", "method_sd35" and "sources"
say how they were made).

- Time: each SD 1.5 or SD 3.5 call costs ``t4_seconds`` of its unit per item (latent, picture or prompt),
  times its pixels / 512² (SD 3.5's transformer: its FLOPs' own growth with the picture, through the FLOPs
  counted at 256, 512 and 1024 px); the bundled models' calls cost their measured CPU time.
- Memory at a call: the CUDA overhead + the weights of every model loaded at that moment + the
  call's activations (``activation_gib`` per item times pixels / 512²; a VAE with slicing on holds
  one picture at a time). The peak is the largest over all calls.

Not counted: downloads, loading weights onto the GPU, and the Python and CPU work between calls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers.core.config import DATA_DIR
from helpers.gpu_budget.counting import SD_SIDE, Call, WorkLog

#: The per-unit costs (T4, float16, 512 px); see its "method" and "sources".
COSTS_PATH: Path = DATA_DIR / "t4_costs.json"
#: The budget every notebook's real-backend full mode must fit on a free Colab T4.
BUDGET_SECONDS = 600.0
BUDGET_GIB = 12.0
#: Activation memory charged to one call of a bundled model, in GiB: the mini-sd card's whole
#: benchmark process peaked at 526.7 MiB making batches of 32 (data/models/mini-sd/README.md),
#: so 0.5 GiB bounds one call of up to 32 pictures.
BUNDLED_ACTIVATION_GIB = 0.5
#: Which entry of ``weights_gib_fp16`` each registry key uses (ControlNets are all one size).
WEIGHTS_KEY: dict[str, str] = {"controlnet-openpose": "controlnet", "controlnet-canny": "controlnet"}
#: Units that are per picture at 512 px and scale with the number of pixels.
PIXEL_UNITS = frozenset({"unet_eval", "unet_inpaint_eval", "unet_instruct_eval", "controlnet_eval",
                         "vae_decode", "vae_encode", "unet_train_step",
                         "transformer_eval", "sd3_vae_decode", "sd3_vae_encode"})
#: Counted units that take another unit's cost, and why: InstructPix2Pix's U-Net is SD 1.5's with
#: 8 input channels instead of 4, which changes only its first convolution; SD 3's VAE encoder is
#: SD 1.5's (the same widths and blocks, data/sd35-architecture/vae.json) but for its last convolution
#: (32 output channels instead of 8) and no quant conv.
SAME_COST_AS: dict[str, str] = {"unet_instruct_eval": "unet_eval", "sd3_vae_encode": "vae_encode"}
#: A float32 call's time over its float16 time on a T4: the datasheet's 65 TFLOPS float16 (tensor
#: cores) over 8.1 TFLOPS float32 (data/t4_costs.json, source "nvidia-t4"), i.e. the same share of
#: the peak in both precisions; likely an upper bound, since float32 kernels on the CUDA cores
#: usually reach a larger share of their lower peak than float16 ones do of the tensor cores'.
FLOAT32_SLOWDOWN = 65 / 8.1
#: A registry key with this suffix in ``Call.resident`` is that model loaded a second time in float32
#: (twice its float16 weights).
FLOAT32_SUFFIX = " (float32)"


def load_costs(path: Path | str = COSTS_PATH) -> dict[str, Any]:
    """Return the per-unit T4 costs read from ``path`` (data/t4_costs.json), checked for the needed keys.

    Used by tools/gpu_budget.py (no notebook calls it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: write it with `make rehearse` (tools/rehearse_sd15.py).")
    costs = json.loads(path.read_text())
    missing = [k for k in ("method", "cuda_overhead_gib", "weights_gib_fp16", "units") if k not in costs]
    if missing:
        raise ValueError(f"{path} has no {', '.join(missing)}: rewrite it with `make rehearse`.")
    return costs


def _unit(costs: dict[str, Any], name: str) -> dict[str, float]:
    units = costs["units"]
    found = units.get(name) or units.get(SAME_COST_AS.get(name, ""))
    if found is None:
        raise KeyError(f"data/t4_costs.json has no cost for the unit {name!r}: add it with `make rehearse`.")
    return found


def _scale(call: Call) -> float:
    """Pixels of ``call`` over 512², for units whose cost grows with the picture; else 1."""
    return call.width * call.height / SD_SIDE**2 if call.unit in PIXEL_UNITS else 1.0


def _time_scale(call: Call, cost: dict[str, Any]) -> float:
    """How much more time ``call`` takes than one item at 512 px: ``_scale``, or, for a unit whose row gives
    ``flops_ratio_256`` and ``flops_ratio_1024`` (its FLOPs at 256 and 1024 px over those at 512 px; a
    transformer's text tokens cost the same at any size and its attention grows with the square of the
    image tokens), a + b·p + c·p² in the pixel share p = pixels / 512², through those three sizes exactly."""
    p = _scale(call)
    quarter, four = cost.get("flops_ratio_256"), cost.get("flops_ratio_1024")
    if quarter is None or four is None or call.unit not in PIXEL_UNITS:
        return p
    # a + b + c = 1, a + b/4 + c/16 = quarter, a + 4b + 16c = four
    c = ((four - 1) - 4 * (1 - quarter)) / 11.25
    b = ((1 - quarter) - 0.9375 * c) / 0.75
    return (1 - b - c) + b * p + c * p * p


def call_seconds(call: Call, costs: dict[str, Any]) -> float:
    """Return the T4 seconds of one call: per-item cost × items × pixels / 512² (bundled: its CPU time).

    Used by helpers.gpu_budget.estimate (no notebook calls it).
    """
    if call.bundled:
        return call.seconds
    slowdown = FLOAT32_SLOWDOWN if call.float32 else 1.0
    cost = _unit(costs, call.unit)
    return cost["t4_seconds"] * call.batch * _time_scale(call, cost) * slowdown


def call_activation_gib(call: Call, costs: dict[str, Any]) -> float:
    """Return the activation GiB one call needs at once (a sliced VAE holds one picture at a time).

    Used by helpers.gpu_budget.estimate (no notebook calls it).
    """
    if call.bundled:
        return BUNDLED_ACTIVATION_GIB
    at_once = 1 if call.sliced and call.unit.startswith(("vae_", "sd3_vae_")) else call.batch
    width = 2 if call.float32 else 1  # bytes per value over float16's
    return _unit(costs, call.unit)["activation_gib"] * at_once * _scale(call) * width


def weights_gib(keys: tuple[str, ...] | list[str], costs: dict[str, Any],
                bundled: dict[str, float] | None = None) -> float:
    """Return the GiB of weights of the registry models ``keys`` (hub models in fp16, SD 3.5 without its T5;
    bundled as measured).

    Used by helpers.gpu_budget.estimate (no notebook calls it).
    """
    table, bundled = costs["weights_gib_fp16"], bundled or {}
    total = 0.0
    for key in keys:
        if key.endswith(FLOAT32_SUFFIX):
            total += 2 * weights_gib([key.removesuffix(FLOAT32_SUFFIX)], costs, bundled)
        elif key in bundled:
            total += bundled[key]
        elif WEIGHTS_KEY.get(key, key) in table:
            total += table[WEIGHTS_KEY.get(key, key)]
        else:
            raise KeyError(f"data/t4_costs.json has no weights_gib_fp16 for {key!r}: add it with `make rehearse`.")
    return total


def estimate(log: WorkLog, costs: dict[str, Any]) -> dict[str, Any]:
    """Return the estimated T4 seconds and peak GiB of everything in ``log``, with a breakdown per unit.

    Keys: ``t4_seconds``, ``peak_gib``, ``peak_call`` (what ran at the peak), ``sd_seconds`` (SD 1.5 and
    SD 3.5 models, from the costs), ``bundled_seconds`` (bundled models, CPU time measured), ``by_unit``.
    Used by tools/gpu_budget.py (no notebook calls it).
    """
    overhead = float(costs["cuda_overhead_gib"])
    by_unit: dict[str, dict[str, float]] = {}
    sd_seconds = bundled_seconds = 0.0
    peak, peak_call = overhead, "nothing ran"
    for call in log.calls:
        seconds = call_seconds(call, costs)
        if call.bundled:
            bundled_seconds += seconds
        else:
            sd_seconds += seconds
        row = by_unit.setdefault(f"{call.unit} ({call.model})", {"calls": 0, "items": 0, "t4_seconds": 0.0})
        row["calls"] += 1
        row["items"] += call.batch
        row["t4_seconds"] += seconds
        memory = overhead + weights_gib(call.resident, costs, log.bundled_weights_gib) + call_activation_gib(call, costs)
        if memory > peak:
            peak = memory
            peak_call = (f"{call.unit} on {call.model}, batch {call.batch} at {call.width}x{call.height}"
                         f"{' (VAE slicing)' if call.sliced else ''} with {', '.join(call.resident)} loaded")
    return {"t4_seconds": sd_seconds + bundled_seconds, "peak_gib": peak, "peak_call": peak_call,
            "sd_seconds": sd_seconds, "bundled_seconds": bundled_seconds,
            "by_unit": dict(sorted(by_unit.items(), key=lambda kv: -kv[1]["t4_seconds"]))}


def over_budget(result: dict[str, Any], *, seconds: float = BUDGET_SECONDS, gib: float = BUDGET_GIB) -> list[str]:
    """Return one sentence per budget ``result`` (from ``estimate``) exceeds; empty when it fits.

    Used only by tests/test_gpu_budget.py (no notebook, helper or tool calls it).
    """
    problems = []
    if result["t4_seconds"] > seconds:
        worst = next(iter(result["by_unit"].items()), ("", {}))
        problems.append(f"estimated {result['t4_seconds'] / 60:.1f} min on a T4 is over {seconds / 60:.0f} min "
                        f"(most of it: {worst[0]}, {worst[1].get('t4_seconds', 0):.0f} s): use fewer pictures or "
                        "steps in the real-backend branch.")
    if result["peak_gib"] > gib:
        problems.append(f"estimated peak {result['peak_gib']:.1f} GiB is over {gib:.0f} GiB at "
                        f"{result['peak_call']}: use a smaller batch, VAE slicing or fewer models loaded at once.")
    return problems
