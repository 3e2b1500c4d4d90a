"""Write data/t4_costs.json, the per-unit T4 costs, from the rehearsal and cited T4 figures.

    python tools/t4_costs.py            # after tools/rehearse_sd15.py (make rehearse runs both)

Every number in the output is either measured by the rehearsal (data/rehearsal_sd15.json),
counted from SD 1.5's architecture (tools/sd15_architecture.py), or one of the cited figures
below; the "method" paragraph in the output says how they combine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sd15_architecture as arch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REHEARSAL = ROOT / "data" / "rehearsal_sd15.json"
COSTS = ROOT / "data" / "t4_costs.json"

DIFFUSERS_BENCHMARK = ("https://github.com/huggingface/diffusers/blob/2c529b75bbd25e4c69348bbabd0a1a842d540193/"
                       "docs/source/en/optimization/torch2.0.md")
SOURCES: list[dict[str, str]] = [
    {"id": "diffusers-t4", "url": DIFFUSERS_BENCHMARK,
     "what": "diffusers' torch 2.0 benchmark, T4, SD 1.5 at 512 px in float16, default guidance (two latents "
             "per step), torch 2.0 without compile: txt2img 6.9 it/s at batch 1 and 1.79 it/s at batch 4; "
             "inpaint 6.91 and 1.81; controlnet 4.89 and 1.34 it/s."},
    {"id": "nvidia-t4", "url": "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
                               "t4-tensor-core-datasheet-951643.pdf",
     "what": "NVIDIA T4 datasheet: 65 TFLOPS float16 (mixed precision, tensor cores), 8.1 TFLOPS float32, "
             "16 GB GDDR6 at 320 GB/s."},
    {"id": "colab-t4-15gb", "url": "https://unanswered.io/guide/what-is-t4-gpu-google-colab",
     "what": "Colab's T4 shows about 15 GB of its 16 GB (ECC reserves the rest); the workbook's budget is 12 GiB."},
    {"id": "pytorch-cuda-context", "url": "https://github.com/pytorch/pytorch/issues/107667",
     "what": "PyTorch maintainer: the CUDA context takes about 300 MB since CUDA 11.7's lazy module loading "
             "(over 1000 MB before)."},
    {"id": "sd15-parameters", "url": "https://forums.fast.ai/t/stable-diffusion-parameter-budget-allocation/101515",
     "what": "SD 1.5 parameters: UNet 859,520,964, VAE 83,653,863, CLIP text encoder 123,060,480 (our builds match)."},
    {"id": "controlnet-files", "url": "https://huggingface.co/lllyasviel/control_v11p_sd15_openpose/tree/main",
     "what": "control_v11p_sd15_openpose: fp16 weights 723 MB, fp32 1.45 GB (our build: 361,279,120 parameters)."},
    {"id": "lcm-lora-file", "url": "https://huggingface.co/latent-consistency/lcm-lora-sdv1-5/tree/main",
     "what": "lcm-lora-sdv1-5: pytorch_lora_weights.safetensors is 135 MB."},
    {"id": "rehearsal", "url": "data/rehearsal_sd15.json (make rehearse)",
     "what": "this repository's measurements: each call shape on SD 1.5's architecture, random weights, float32, "
             "on the project's CPU machine: FLOPs (FlopCounterMode, meta device), wall time, peak RSS growth."},
]
#: diffusers-t4: iterations per second of SD 1.5 txt2img at 512 px, batch 1, float16, torch 2.0, no compile.
T4_TXT2IMG_IT_PER_S = 6.9
T4_TXT2IMG_B4_IT_PER_S = 1.79
T4_CONTROLNET_IT_PER_S = 4.89
T4_PEAK_FP16_TFLOPS = 65.0  # nvidia-t4
#: An assumption, labelled as such: 1.0 GiB for the CUDA context (about 0.3 GiB, pytorch-cuda-context),
#: cuBLAS/cuDNN workspaces and the caching allocator's fragmentation, none of which we can measure here.
CUDA_OVERHEAD_GIB = 1.0
LCM_LORA_BYTES = 135e6  # lcm-lora-file
#: Units whose activations one figure serves: the same UNet but for its first convolution's inputs.
UNET_UNITS = {"unet_eval", "unet_inpaint_eval", "unet_instruct_eval"}
FAMILY: dict[str, set[str]] = {unit: UNET_UNITS for unit in UNET_UNITS}
#: Which measured shape prices each unit (per item = per latent, picture or prompt at 512 px).
UNIT_SHAPE: dict[str, str] = {
    "text_encode": "text_encode_b1", "unet_eval": "unet_512_b2", "unet_inpaint_eval": "unet_inpaint_512_b2",
    "unet_instruct_eval": "unet_instruct_512_b3", "controlnet_eval": "controlnet_512_b2",
    "vae_decode": "vae_decode_512_b1", "vae_encode": "vae_encode_512_b1", "clip_score": "clip_score_b1",
    "safety_check": "safety_check_b1", "unet_train_step": "lora_train_512_b1",
}


def _gib(parameters: int, bytes_per: int = 2) -> float:
    return round(parameters * bytes_per / 2**30, 4)


def weights() -> dict[str, float]:
    """Return the float16 weights in GiB of every registry model the real backend loads."""
    n = {name: arch.parameters(arch.build(name, "meta")) for name in arch.COMPONENTS}
    shared = n["vae"] + n["text_encoder"]
    return {"sd15": _gib(n["unet"] + shared), "sd15-inpaint": _gib(n["unet_inpaint"] + shared),
            "instruct-pix2pix": _gib(n["unet_instruct_pix2pix"] + shared), "controlnet": _gib(n["controlnet"]),
            "clip-vit-b32": _gib(n["clip_vit_b32"]), "safety-checker": _gib(n["safety_checker"]),
            "lcm-lora-sd15": round(LCM_LORA_BYTES / 2**30, 4)}


def costs(rehearsal: dict[str, Any]) -> dict[str, Any]:
    """Return the t4_costs record built from a rehearsal record."""
    shapes = rehearsal["shapes"]
    missing = sorted(set(UNIT_SHAPE.values()) - set(shapes))
    if missing:
        raise SystemExit(f"the rehearsal lacks {missing}; run `make rehearse` (it resumes) first.")
    unet_flops = shapes["unet_512_b2"]["flops"] / 2  # one latent
    # diffusers-t4: one txt2img iteration is one UNet call on 2 latents (guidance), so one latent takes
    # 1 / (2 x 6.9) s; the UNet's FLOPs over that time is the T4's effective float16 throughput.
    seconds_per_latent = 1 / (2 * T4_TXT2IMG_IT_PER_S)
    effective = unet_flops / seconds_per_latent
    units: dict[str, Any] = {}
    for unit, name in UNIT_SHAPE.items():
        shape = shapes[name]
        per_item_flops = shape["flops"] / shape["batch"]
        # the largest per-item growth among this unit's unsliced 512-px shapes (small batches hold the most)
        family = FAMILY.get(shape["unit"], {shape["unit"]})
        growth, grown = max((s["peak_rss_growth_gib"] / s["batch"], n) for n, s in shapes.items()
                            if s["unit"] in family and s["side"] == shape["side"] and not s.get("sliced"))
        units[unit] = {
            "t4_seconds": round(per_item_flops / effective, 5),
            "activation_gib": round(growth / 2, 4),
            "flops": int(per_item_flops),
            "per": {"text_encode": "prompt", "clip_score": "picture and prompt", "safety_check": "picture",
                    "vae_decode": "picture", "vae_encode": "picture", "unet_train_step": "training picture"}.get(
                        unit, "latent"),
            "from_shape": name,  # FLOPs, t4_seconds and cpu_seconds
            "activation_from_shape": grown,
            "cpu_seconds": round(shape["seconds"] / shape["batch"], 3),
        }
    units["clip_score"]["note"] = ("helpers.clip_score loads CLIP on the CPU unless given a model, so on Colab "
                                   "this runs on Colab's CPU, not the T4; cpu_seconds here was measured on a "
                                   "heavily shared machine and is no guide to a quiet one")
    units["unet_instruct_eval"]["note"] = "one InstructPix2Pix step is 3 of these (text and image guidance)"
    units["unet_train_step"]["note"] = ("forward and backward through the UNet with LoRA rank 4 on its attention, "
                                        "plus the text encoder's forward; activation is what the backward keeps")
    predicted_cn = effective / (2 * (unet_flops + units["controlnet_eval"]["flops"]))
    rows = {name: s for name, s in shapes.items()}
    decode = {b: rows.get(f"vae_decode_512_b{b}", {}).get("peak_rss_growth_gib") for b in (1, 2, 4)}
    decode_sliced = {b: rows.get(f"vae_decode_512_b{b}_sliced", {}).get("peak_rss_growth_gib") for b in (2, 4)}
    unet_mem = {k: rows.get(k, {}).get("peak_rss_growth_gib") for k in ("unet_512_b1", "unet_512_b2", "unet_256_b2")}
    flop_ratio_unet = shapes["unet_512_b2"]["flops"] / shapes["unet_256_b2"]["flops"] if "unet_256_b2" in shapes else None
    flop_ratio_vae = (shapes["vae_decode_512_b1"]["flops"] / shapes["vae_decode_256_b1"]["flops"]
                      if "vae_decode_256_b1" in shapes else None)
    # UNet growth at 2 latents = fixed + linear x (pixels / 256^2): two sizes give both parts
    fixed = unet_mem["unet_256_b2"] - (unet_mem["unet_512_b2"] - unet_mem["unet_256_b2"]) / 3
    only = rehearsal.get("flops_only", {})
    up_unet = only["unet_768_b2"]["flops"] / shapes["unet_512_b2"]["flops"] if "unet_768_b2" in only else None
    up_vae = only["vae_decode_768_b1"]["flops"] / shapes["vae_decode_512_b1"]["flops"] if "vae_decode_768_b1" in only else None
    machine = rehearsal.get("machine", {})
    threads = sorted({s["torch_threads"] for s in shapes.values()})
    loads = [s["load_1min_before"] for s in shapes.values()]
    dates = sorted(s["measured"] for s in shapes.values())
    return {
        "method": (
            "Per-unit costs of SD 1.5 at 512x512 px (64x64 latents) in float16 on a T4, per item (latent, "
            "picture or prompt). FLOPs: torch.utils.flop_counter.FlopCounterMode over each call on SD 1.5's real "
            "architecture (public configs in data/sd15-architecture/, built on the meta device). T4 seconds: "
            "FLOPs divided by an effective T4 float16 throughput calibrated on diffusers' published T4 benchmark "
            f"(diffusers-t4): SD 1.5 txt2img runs {T4_TXT2IMG_IT_PER_S} it/s at batch 1, each iteration one UNet "
            f"call on 2 latents, so one latent takes {seconds_per_latent * 1000:.1f} ms; the UNet's "
            f"{unet_flops / 1e9:.1f} GFLOP per latent over that time is {effective / 1e12:.2f} TFLOPS "
            f"({effective / 1e12 / T4_PEAK_FP16_TFLOPS:.0%} of the datasheet's {T4_PEAK_FP16_TFLOPS:.0f}, "
            "nvidia-t4), used for every unit. Check: the same rate predicts ControlNet txt2img at "
            f"{predicted_cn:.2f} it/s against the published {T4_CONTROLNET_IT_PER_S}, and batch 4 at "
            f"{T4_TXT2IMG_IT_PER_S / 4:.2f} it/s against {T4_TXT2IMG_B4_IT_PER_S}. Units far from the UNet's "
            "shape (VAE convolutions at 512 px, small text and CLIP models that are launch-bound on a GPU) "
            "carry more error; the small ones cost milliseconds either way. Activation GiB: the call's peak "
            "resident-memory growth on the CPU in float32 (a fresh process per shape, VmHWM reset just before "
            "the call), divided by the batch and halved for float16, taking the largest per-item figure among the "
            "unit's unsliced 512-px shapes (the three UNets count as one; the smallest batch wins), which over-counts larger batches (see scaling); "
            "like the T4's memory-efficient SDPA, the CPU's attention kernel never holds the attention matrix. "
            "Weights: parameters x 2 bytes. cuda_overhead_gib is an "
            "assumption, not a measurement: about 0.3 GiB of CUDA context (pytorch-cuda-context) plus cuBLAS/"
            "cuDNN workspaces and allocator fragmentation, rounded up to 1 GiB."),
        "sources": SOURCES,
        "measured": (f"{dates[0][:10]} to {dates[-1][:10]}, {machine.get('cpu', '?')} ({machine.get('cores', '?')} "
                     f"cores, {machine.get('memory_gib', '?')} GiB), torch {machine.get('torch', '?')}, torch "
                     f"threads {threads}, at nice 10, not quiet: about ten other jobs shared the 2 cores (1-minute "
                     f"load {min(loads):.1f}-{max(loads):.1f} before the shapes), which makes cpu_seconds slow and "
                     "noisy but changes neither FLOPs nor memory"),
        "cuda_overhead_gib": CUDA_OVERHEAD_GIB,
        "cuda_overhead_note": "assumption (see method); the cited context alone is about 0.3 GiB",
        "t4_effective_tflops": round(effective / 1e12, 3),
        "weights_gib_fp16": weights(),
        "units": units,
        "controlnet_step": {
            "t4_seconds": round(shapes["controlnet_step_512_b2"]["flops"] / 2 / effective, 5)
            if "controlnet_step_512_b2" in shapes else None,
            "activation_gib": round(shapes["controlnet_step_512_b2"]["peak_rss_growth_gib"] / 2 / 2, 4)
            if "controlnet_step_512_b2" in shapes else None,
            "note": "one ControlNet step per latent (ControlNet, then the UNet with its residuals), measured whole",
        },
        "scaling": (
            "Batch: FLOPs are exactly linear in the batch (FlopCounterMode), and on a T4 time nearly so "
            f"(diffusers-t4: txt2img {T4_TXT2IMG_IT_PER_S} it/s at batch 1, {T4_TXT2IMG_B4_IT_PER_S} at batch 4, "
            f"i.e. {T4_TXT2IMG_IT_PER_S / T4_TXT2IMG_B4_IT_PER_S:.2f}x the time for 4x the work), so t4_seconds x items. "
            f"Activation memory is sub-linear in the batch: UNet {unet_mem['unet_512_b1']} GiB at 1 latent, "
            f"{unet_mem['unet_512_b2']} at 2 (float32 RSS growth); VAE decode {decode[1]} / {decode[2]} / "
            f"{decode[4]} GiB for 1 / 2 / 4 pictures, and with vae.enable_slicing() {decode_sliced[2]} / "
            f"{decode_sliced[4]} GiB for 2 / 4 (one picture at a time); so activation_gib x batch (x 1 when "
            "sliced) is an upper bound. Pixels: from 256 to 512 px (4x the pixels) the UNet's FLOPs grow "
            f"{flop_ratio_unet:.2f}x and the VAE decoder's {flop_ratio_vae:.2f}x, and from 512 to 768 px (2.25x) "
            f"{up_unet:.2f}x and {up_vae:.2f}x (FlopCounterMode; the UNet's self-attention grows with the square "
            f"of the tokens). So t4_seconds x pixels / 512^2 over-counts the UNet by {flop_ratio_unet / 4 - 1:.0%} "
            f"at 256 px, and at 768 px the UNet's real cost is {up_unet / 2.25 - 1:.0%} above the pixel-scaled "
            "one; the VAE is near linear. Activation memory: VAE decode "
            f"{rows['vae_decode_256_b1']['peak_rss_growth_gib']} GiB at 256 px against {decode[1]} at 512 "
            f"(linear in pixels); the UNet {unet_mem['unet_256_b2']} GiB for 2 latents at 256 px against "
            f"{unet_mem['unet_512_b2']} at 512, i.e. a fixed {fixed:.2f} GiB (float32, on the CPU) plus a part "
            f"linear in pixels, so pixel-scaled UNet activations under-count small sizes by at most "
            f"{fixed / 2:.2f} GiB in float16."),
    }


def table(rehearsal: dict[str, Any], effective_tflops: float) -> str:
    """Return the rehearsal as a Markdown table (the README's), with each shape's T4 estimate."""
    lines = ["| shape | side | batch | CPU s | float32 peak growth, GiB | GFLOP | parameters | T4 s (est.) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, s in rehearsal["shapes"].items():
        sliced = ", sliced" if s.get("sliced") else ""
        lines.append(f"| `{name}`{sliced} | {s['side']} | {s['batch']} | {s['seconds']:.1f} | "
                     f"{s['peak_rss_growth_gib']:.2f} | {s['flops'] / 1e9:,.0f} | {s['parameters'] / 1e6:,.1f} M | "
                     f"{s['flops'] / (effective_tflops * 1e12):.3f} |")
    return "\n".join(lines)


def main() -> int:
    """Write data/t4_costs.json from data/rehearsal_sd15.json (``--table``: print the README table too)."""
    rehearsal = json.loads(REHEARSAL.read_text())
    record = costs(rehearsal)
    if "--table" in sys.argv[1:]:
        print(table(rehearsal, record["t4_effective_tflops"]))
    COSTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {COSTS.relative_to(ROOT)}: effective T4 {record['t4_effective_tflops']} TFLOPS, "
          f"unet_eval {record['units']['unet_eval']['t4_seconds'] * 1000:.1f} ms per latent")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
