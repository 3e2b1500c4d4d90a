"""Write data/t4_costs.json, the per-unit T4 costs, from the rehearsal and cited T4 figures.

    python tools/t4_costs.py            # after tools/rehearse_sd15.py (make rehearse runs both)
                                        # and tools/rehearse_sd35.py (SD 3.5 Medium's units)

Every number in the output is either measured by a rehearsal (data/rehearsal_sd15.json,
data/rehearsal_sd35.json), counted from SD 1.5's or SD 3.5 Medium's architecture
(tools/sd15_architecture.py, tools/sd35_architecture.py), or one of the cited figures below; the
"method" and "method_sd35" paragraphs in the output say how they combine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sd15_architecture as arch  # noqa: E402
import sd35_architecture as arch35  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REHEARSAL = ROOT / "data" / "rehearsal_sd15.json"
REHEARSAL_SD35 = ROOT / "data" / "rehearsal_sd35.json"
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
    {"id": "diffusers-sd3-conversion",
     "url": "https://github.com/huggingface/diffusers/blob/58eb52c0803ea9af3abec60841c2a093bdf1f951/scripts/"
            "convert_sd3_to_diffusers.py",
     "what": "how the diffusers SD 3 / 3.5 repos were made: SD3Transformer2DModel(sample_size=128, patch_size=2, "
             "in_channels=16, joint_attention_dim=4096, heads = layers, qk_norm rms_norm, dual attention in layers "
             "0-12 'for sd3.5', pos_embed_max_size 384 'for sd3.5 2b') and the SDXL-shaped VAE with 16 latent "
             "channels, no quant convs, scaling 1.5305, shift 0.0609 (all of data/sd35-architecture/ with its other "
             "sources)."},
    {"id": "sd35-reference", "url": "https://github.com/Stability-AI/sd3.5/tree/fbf8f483f992d8d6ad4eaaeb23b1dc5f523c3b3a",
     "what": "Stability AI's reference inference code: MMDiT-X hidden size 64 x depth with depth heads, CLIP-L "
             "(768 wide, 12 layers) and CLIP-G (1280 wide, 32 layers) configs, VAE ch 128 x (1, 2, 4, 4) with 16 "
             "latent channels, sampling shift 3.0 for sd3.5_medium."},
    {"id": "sd35-medium-card", "url": "https://huggingface.co/stabilityai/stable-diffusion-3.5-medium",
     "what": "SD 3.5 Medium's model card: MMDiT-X, 2.5 B parameters (the diffusers transformer's 2.243 B parameters "
             "plus its 0.226 B positional table, kept as a buffer), QK normalization, dual attention in the first 13 "
             "layers; official dtype bfloat16 (a T4 has none: the workbook loads float16), gated licence."},
    {"id": "rehearsal-sd35", "url": "data/rehearsal_sd35.json (python tools/rehearse_sd35.py)",
     "what": "the same measurements on SD 3.5 Medium's architecture without its T5 (random weights, float32): the "
             "two CLIP encodes, the transformer at 512 px (1 and 2 latents), the 16-channel VAE decode."},
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


def stored_values(module: Any) -> int:
    """Return the parameters and persistent floating-point buffers of ``module``: what its weight files hold
    and what it keeps on the GPU (SD 3.5's 384 x 384 x 1536 positional table is such a buffer)."""
    import torch

    persistent = {name for name, _ in module.named_buffers()} - {
        f"{prefix}.{name}".lstrip(".") for prefix, sub in module.named_modules()
        for name in getattr(sub, "_non_persistent_buffers_set", ())}
    buffers = sum(b.numel() for name, b in module.named_buffers()
                  if name in persistent and torch.is_floating_point(b))
    return arch.parameters(module) + int(buffers)


def sd35_values() -> dict[str, int]:
    """Return the stored values of each SD 3.5 Medium component the workbook loads (no T5)."""
    return {name: stored_values(arch35.build(name, "meta")) for name in arch35.COMPONENTS}


def weights() -> dict[str, float]:
    """Return the float16 weights in GiB of every registry model the real backend loads."""
    n = {name: arch.parameters(arch.build(name, "meta")) for name in arch.COMPONENTS}
    shared = n["vae"] + n["text_encoder"]
    return {"sd15": _gib(n["unet"] + shared), "sd15-inpaint": _gib(n["unet_inpaint"] + shared),
            "instruct-pix2pix": _gib(n["unet_instruct_pix2pix"] + shared), "controlnet": _gib(n["controlnet"]),
            "clip-vit-b32": _gib(n["clip_vit_b32"]), "safety-checker": _gib(n["safety_checker"]),
            "lcm-lora-sd15": round(LCM_LORA_BYTES / 2**30, 4),
            "sd35-medium": _gib(sum(sd35_values().values()))}


#: Which measured SD 3.5 shape prices each SD 3.5 unit (per latent, prompt or picture at 512 px).
SD35_UNIT_SHAPE: dict[str, str] = {
    "transformer_eval": "transformer_512_b1", "clip_l_encode": "clip_l_encode_b1",
    "clip_g_encode": "clip_g_encode_b1", "sd3_vae_decode": "vae_decode_512_b1",
}
#: The example SD 3.5 Medium picture the costs are summed for: the registry's 28 steps, guided, 512 px.
SD35_STEPS = 28


def sd35_costs(sd35: dict[str, Any], effective: float, overhead: float, unet_flops: float) -> dict[str, Any]:
    """Return SD 3.5 Medium's units, its method paragraph and one 28-step 512-px picture, priced at the
    effective T4 rate calibrated on SD 1.5 (``effective`` FLOP/s; ``unet_flops``: SD 1.5's UNet per latent)."""
    shapes, only = sd35["shapes"], sd35.get("flops_only", {})
    missing = sorted(set(SD35_UNIT_SHAPE.values()) - set(shapes))
    if missing:
        raise SystemExit(f"the SD 3.5 rehearsal lacks {missing}; run python tools/rehearse_sd35.py (it resumes).")
    units: dict[str, Any] = {}
    for unit, name in SD35_UNIT_SHAPE.items():
        shape = shapes[name]
        per_item = shape["flops"] / shape["batch"]
        growth, grown = max((s["peak_rss_growth_gib"] / s["batch"], n) for n, s in shapes.items()
                            if s["unit"] == unit and s["side"] == shape["side"])
        units[unit] = {"t4_seconds": round(per_item / effective, 5), "activation_gib": round(growth / 2, 4),
                       "flops": int(per_item), "per": "latent" if unit == "transformer_eval" else (
                           "picture" if unit == "sd3_vae_decode" else "prompt"),
                       "from_shape": name, "activation_from_shape": grown,
                       "cpu_seconds": round(shape["seconds"] / shape["batch"], 3)}
    transformer = units["transformer_eval"]
    at_1024 = only["transformer_1024_b1"]["flops"]
    at_256 = only["transformer_256_b1"]["flops"]
    transformer["flops_256"], transformer["flops_1024"] = at_256, at_1024
    transformer["flops_ratio_256"] = round(at_256 / transformer["flops"], 4)
    transformer["flops_ratio_1024"] = round(at_1024 / transformer["flops"], 4)
    with_t5 = only["transformer_512_b1_with_t5"]["flops"]
    at_768 = only["transformer_768_b1"]["flops"]
    quarter, four = transformer["flops_ratio_256"], transformer["flops_ratio_1024"]
    c = ((four - 1) - 4 * (1 - quarter)) / 11.25  # as helpers.gpu_budget.estimate._time_scale
    b = ((1 - quarter) - 0.9375 * c) / 0.75
    at_768_fit = transformer["flops"] * ((1 - b - c) + b * 2.25 + c * 2.25**2)
    transformer["note"] = ("per latent: a guided step is 2; text = 77 CLIP tokens + 77 zero tokens in the T5's place "
                           f"(with the T5's 256 tokens it would be {with_t5 / 1e9:,.0f} GFLOP); at other sizes the "
                           "estimate follows the FLOPs' own growth, a + b p + c p^2 in p = pixels / 512^2 through "
                           "flops_ratio_256 and flops_ratio_1024 (at 768 px it gives "
                           f"{at_768_fit / 1e9:,.0f} GFLOP against the {at_768 / 1e9:,.0f} counted)")
    units["clip_l_encode"]["note"] = units["clip_g_encode"]["note"] = (
        "per prompt; a guided call encodes the prompts and the negative prompts with each CLIP")
    units["sd3_vae_decode"]["note"] = "SD 1.5's VAE decoder but for 16 latent channels: nearly the same FLOPs"
    values = sd35_values()
    weights_gib = sum(values.values()) * 2 / 2**30
    steps_seconds = 2 * SD35_STEPS * transformer["t4_seconds"]
    text_seconds = 2 * (units["clip_l_encode"]["t4_seconds"] + units["clip_g_encode"]["t4_seconds"])
    guided_gib = 2 * transformer["activation_gib"]
    picture = {
        "steps": SD35_STEPS, "guidance": True, "side": 512, "batch": 1,
        "t4_seconds": round(text_seconds + steps_seconds + units["sd3_vae_decode"]["t4_seconds"], 2),
        "transformer_seconds": round(steps_seconds, 2),
        "weights_gib": round(weights_gib, 3),
        "peak_gib": round(overhead + weights_gib + max(guided_gib, units["sd3_vae_decode"]["activation_gib"]), 2),
        "note": ("2 prompts through CLIP-L and CLIP-G (the prompt and the empty negative), 28 guided steps of 2 "
                 "latents, one decode; peak = CUDA overhead + weights + the larger of a guided step's and a "
                 "decode's activations"),
    }
    parameters = {name: arch35.parameters(arch35.build(name, "meta")) for name in arch35.COMPONENTS}
    method = (
        "SD 3.5 Medium without its T5 (the workbook's sd35-medium), per item at 512x512 px (64x64 latents) in "
        "float16 on a T4, by the SD 1.5 method above: FLOPs counted with FlopCounterMode on its real architecture "
        "(data/sd35-architecture/: diffusers-sd3-conversion, sd35-reference, sd35-medium-card), priced at the SAME "
        f"effective T4 rate, {effective / 1e12:.2f} TFLOPS, that diffusers' SD 1.5 benchmark gives the UNet. That "
        "rate is an SD 1.5 UNet's (convolutions and attention at 64x64); a transformer is mostly large matrix "
        "products, which usually reach a larger share of the T4's tensor-core peak, but also element-wise work "
        "(modulation, RMS norms) that is memory-bound, and no published T4 benchmark of SD 3.5 was found to "
        "calibrate on, so the SD 3.5 seconds are uncertain by perhaps a factor of two, more likely too high than "
        "too low. Transformer: "
        f"{transformer['flops'] / 1e9:,.0f} GFLOP per latent at 512 px (1024 image tokens and 154 text tokens: "
        "77 CLIP and 77 zero tokens in the T5's place, what helpers.generate passes), "
        f"{transformer['flops'] / unet_flops:.2f}x SD 1.5's UNet; at 1024 px "
        f"{at_1024 / 1e9:,.0f} GFLOP ({transformer['flops_ratio_1024']:.2f}x for 4x the pixels: the joint "
        f"attention grows with the square of the tokens), at 256 px {at_256 / 1e9:,.0f} GFLOP "
        f"({transformer['flops_ratio_256']:.2f}x for a quarter: the 154 text tokens cost the same at any size); "
        "the estimate follows these FLOPs at any size (a + b p + c p^2 through the three). Activation GiB: the rehearsal's peak RSS growth in "
        "float32 (fresh process, VmHWM reset before the call), per item, halved for float16, the largest among "
        "the unit's 512-px shapes. Weights: the parameters and persistent buffers (the transformer's 384x384 "
        "positional table, 0.226 B values) of the transformer "
        f"({parameters['transformer'] / 1e9:.3f} B parameters), CLIP-L ({parameters['text_encoder'] / 1e6:.1f} M), "
        f"CLIP-G ({parameters['text_encoder_2'] / 1e6:.1f} M) and the VAE ({parameters['vae'] / 1e6:.1f} M), "
        f"2 bytes each: {weights_gib:.2f} GiB; the T5 (text_encoder_3, 4.7 B) is not loaded. One guided 28-step "
        f"512-px picture: {picture['t4_seconds']:.1f} s and at most {picture['peak_gib']:.1f} GiB.")
    return {"units": units, "method": method, "picture": picture}


def costs(rehearsal: dict[str, Any], sd35: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the t4_costs record built from a rehearsal record (and SD 3.5's: ``sd35``, by default
    data/rehearsal_sd35.json when it exists)."""
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
    record = {
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
    if sd35 is None and REHEARSAL_SD35.exists():
        sd35 = json.loads(REHEARSAL_SD35.read_text())
    if sd35 is not None:  # SD 3.5 Medium (notebook 11), priced at the same rate
        extra = sd35_costs(sd35, effective, CUDA_OVERHEAD_GIB, unet_flops)
        record["units"].update(extra["units"])
        record["method_sd35"] = extra["method"]
        record["sd35_picture_512"] = extra["picture"]
        sd35_shapes = sd35["shapes"]
        sd35_dates = sorted(s["measured"] for s in sd35_shapes.values())
        sd35_machine = sd35.get("machine", {})
        record["measured_sd35"] = (
            f"{sd35_dates[0][:10]} to {sd35_dates[-1][:10]}, {sd35_machine.get('cpu', '?')}, torch "
            f"{sd35_machine.get('torch', '?')}, torch threads {sorted({s['torch_threads'] for s in sd35_shapes.values()})}, "
            f"at nice 19, 1-minute load {min(s['load_1min_before'] for s in sd35_shapes.values()):.1f}-"
            f"{max(s['load_1min_before'] for s in sd35_shapes.values()):.1f} before the shapes")
    return record


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
    """Write data/t4_costs.json from data/rehearsal_sd15.json and data/rehearsal_sd35.json (``--table``: print
    the README tables too)."""
    rehearsal = json.loads(REHEARSAL.read_text())
    record = costs(rehearsal)
    if "--table" in sys.argv[1:]:
        print(table(rehearsal, record["t4_effective_tflops"]))
        if REHEARSAL_SD35.exists():
            print()
            print(table(json.loads(REHEARSAL_SD35.read_text()), record["t4_effective_tflops"]))
    COSTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {COSTS.relative_to(ROOT)}: effective T4 {record['t4_effective_tflops']} TFLOPS, "
          f"unet_eval {record['units']['unet_eval']['t4_seconds'] * 1000:.1f} ms per latent"
          + (f", SD 3.5 transformer_eval {record['units']['transformer_eval']['t4_seconds'] * 1000:.1f} ms"
             if "transformer_eval" in record["units"] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
