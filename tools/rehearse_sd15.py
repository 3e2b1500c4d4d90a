"""Rehearse SD 1.5 at full size on the CPU: every distinct real-backend call shape, once each.

    python tools/rehearse_sd15.py            # all shapes not yet in the results file (resumable)
    python tools/rehearse_sd15.py --redo     # measure every shape again
    python tools/rehearse_sd15.py --only unet_512_b2 vae_decode_512_b4

Each shape (a text encoding, one guided UNet step, a VAE decode of a batch, ...) runs on SD 1.5's
real architecture (data/sd15-architecture/, random weights, float32) in a fresh subprocess, which
reports:

* ``seconds``: wall time of the one call on this CPU, with the torch thread count beside it
  (calls under 200 GFLOP are timed on a second call: their first is mostly one-time set-up);
* ``peak_rss_growth_gib``: how far the process's peak resident memory rose above what it held
  just before the call (the model and inputs), i.e. the call's activations in float32. The
  peak is the kernel's VmHWM, reset right before the call (``/proc/self/clear_refs``), with
  glibc told to return every allocation over 64 KiB at once (``MALLOC_MMAP_THRESHOLD_``);
* ``flops``: torch.utils.flop_counter.FlopCounterMode over the same call on the meta device
  (architecture only, so it counts what a GPU would do; SDPA is counted through its matmuls);
* ``parameters`` of the modules the call uses.

Results go to data/rehearsal_sd15.json as each shape finishes, so an interrupted run resumes.
Not part of ``make test``: a full run took an hour on the shared two-core machine (``make rehearse``).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sd15_architecture as arch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "rehearsal_sd15.json"
TEXT_TOKENS = 77  # CLIP's context: the pipelines pad every prompt to it
#: Calls under this many FLOPs are timed on a second call (the first is mostly set-up); others once.
WARM_BELOW_FLOPS = 200e9

#: Each distinct real-backend call shape: the unit it prices, what runs, at which picture side
#: and batch (latents, pictures or prompts in the one call). Notebook 05-10 use in brackets.
SHAPES: dict[str, dict[str, Any]] = {
    "text_encode_b1": dict(unit="text_encode", call="text_encode", side=512, batch=1,
                           note="one prompt (05-10; a guided call encodes the prompt and the negative)"),
    "unet_512_b2": dict(unit="unet_eval", call="unet", side=512, batch=2,
                        note="one guided text2img or img2img step: the same UNet call (05-10)"),
    "vae_decode_512_b1": dict(unit="vae_decode", call="vae_decode", side=512, batch=1, note="(05-10)"),
    "vae_encode_512_b1": dict(unit="vae_encode", call="vae_encode", side=512, batch=1,
                              note="img2img, inpainting's masked image, LoRA training data (05, 07, 09)"),
    "unet_inpaint_512_b2": dict(unit="unet_inpaint_eval", call="unet_inpaint", side=512, batch=2,
                                note="one guided inpainting step, 9-channel UNet (05, 07)"),
    "controlnet_512_b2": dict(unit="controlnet_eval", call="controlnet", side=512, batch=2,
                              note="the ControlNet forward alone, guided (08)"),
    "controlnet_step_512_b2": dict(unit="controlnet_step", call="controlnet_step", side=512, batch=2,
                                   note="one guided ControlNet step: ControlNet, then the UNet with its residuals (08)"),
    "clip_score_b1": dict(unit="clip_score", call="clip_score", side=224, batch=1,
                          note="CLIP ViT-B/32, one picture and one 77-token prompt (05, 06, 10)"),
    "safety_check_b1": dict(unit="safety_check", call="safety_check", side=224, batch=1,
                            note="the safety checker's CLIP ViT-L/14 on one picture (10)"),
    "vae_decode_512_b2": dict(unit="vae_decode", call="vae_decode", side=512, batch=2, note=""),
    "vae_decode_512_b2_sliced": dict(unit="vae_decode", call="vae_decode", side=512, batch=2, sliced=True,
                                     note="vae.enable_slicing(): one picture at a time"),
    "unet_512_b1": dict(unit="unet_eval", call="unet", side=512, batch=1,
                        note="one latent, unguided (LCM-LoRA at guidance 1 in 05 and 09); batch scaling"),
    "unet_256_b2": dict(unit="unet_eval", call="unet", side=256, batch=2,
                        note="a guided step at 256 px: pixel scaling"),
    "vae_decode_256_b1": dict(unit="vae_decode", call="vae_decode", side=256, batch=1, note="pixel scaling"),
    "unet_instruct_512_b3": dict(unit="unet_instruct_eval", call="unet_instruct", side=512, batch=3,
                                 note="one InstructPix2Pix step: text and image guidance, 3 latents (09)"),
    "lora_train_512_b1": dict(unit="unet_train_step", call="lora_train", side=512, batch=1,
                              note="09's T4 recipe: LoRA rank 4 on the UNet's attention, batch 1, "
                                   "text encoder forward + UNet forward and backward + AdamW"),
    "vae_decode_512_b4": dict(unit="vae_decode", call="vae_decode", side=512, batch=4, note=""),
    "vae_decode_512_b4_sliced": dict(unit="vae_decode", call="vae_decode", side=512, batch=4, sliced=True,
                                     note="vae.enable_slicing(): one picture at a time"),
}
#: Shapes whose FLOPs alone are counted (meta device, seconds): how FLOPs scale with batch and size.
FLOPS_ONLY: dict[str, dict[str, Any]] = {
    "unet_512_b4": dict(call="unet", side=512, batch=4), "unet_512_b8": dict(call="unet", side=512, batch=8),
    "unet_384_b2": dict(call="unet", side=384, batch=2), "unet_768_b2": dict(call="unet", side=768, batch=2),
    "vae_decode_384_b1": dict(call="vae_decode", side=384, batch=1),
    "vae_decode_768_b1": dict(call="vae_decode", side=768, batch=1),
    "controlnet_256_b2": dict(call="controlnet", side=256, batch=2),
    "controlnet_768_b2": dict(call="controlnet", side=768, batch=2),
}
#: Which components each call builds.
COMPONENTS_OF: dict[str, tuple[str, ...]] = {
    "text_encode": ("text_encoder",), "unet": ("unet",), "unet_inpaint": ("unet_inpaint",),
    "unet_instruct": ("unet_instruct_pix2pix",), "controlnet": ("controlnet",),
    "controlnet_step": ("controlnet", "unet"), "vae_decode": ("vae",), "vae_encode": ("vae",),
    "clip_score": ("clip_vit_b32",), "safety_check": ("safety_checker",),
    "lora_train": ("unet", "text_encoder"),
}


def _inputs(call: str, side: int, batch: int, device: str, modules: dict[str, Any]) -> dict[str, Any]:
    """Return the tensors one call takes, random, on ``device``."""
    latent = side // 8
    gen = {"device": device}
    if call in ("unet", "unet_inpaint", "unet_instruct", "controlnet", "controlnet_step"):
        channels = modules[COMPONENTS_OF[call][0]].config.in_channels
        return {"x": torch.randn(batch, channels, latent, latent, **gen),
                "t": torch.full((batch,), 500, dtype=torch.long, device=device),
                "text": torch.randn(batch, TEXT_TOKENS, 768, **gen),
                "control": torch.rand(batch, 3, side, side, **gen)}
    if call == "lora_train":
        return {"x": torch.randn(batch, 4, latent, latent, **gen),
                "t": torch.randint(0, 1000, (batch,), device=device),
                "ids": torch.randint(0, 49408, (batch, TEXT_TOKENS), device=device)}
    if call == "text_encode":
        return {"ids": torch.randint(0, 49408, (batch, TEXT_TOKENS), device=device)}
    if call == "vae_decode":
        return {"z": torch.randn(batch, 4, latent, latent, **gen)}
    if call == "vae_encode":
        return {"pixels": torch.rand(batch, 3, side, side, **gen) * 2 - 1}
    if call == "clip_score":
        return {"ids": torch.randint(0, 49408, (batch, TEXT_TOKENS), device=device),
                "pixels": torch.randn(batch, 3, side, side, **gen)}
    return {"pixels": torch.randn(batch, 3, side, side, **gen)}  # safety_check


def _prepare(call: str, modules: dict[str, Any], shape: dict[str, Any]) -> Any:
    """Return a no-argument function that makes the call once (set-up such as LoRA done here)."""
    m = modules
    if shape.get("sliced"):
        m["vae"].enable_slicing()
    if call == "lora_train":
        from peft import LoraConfig

        from helpers.editing.personalize import LORA_TARGETS

        m["unet"].requires_grad_(False)
        m["text_encoder"].requires_grad_(False)
        m["unet"].add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                                         target_modules=list(LORA_TARGETS)))
        params = [p for p in m["unet"].parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=1e-4) if params[0].device.type != "meta" else None
        m["unet"].train()

        def run(i: dict[str, Any]) -> Any:
            with torch.no_grad():
                text = m["text_encoder"](i["ids"])[0]
            prediction = m["unet"](i["x"], i["t"], encoder_hidden_states=text).sample
            loss = torch.nn.functional.mse_loss(prediction, torch.zeros_like(prediction))
            loss.backward()
            if optimizer is not None:
                optimizer.step()
                optimizer.zero_grad()
            return loss
        return run

    def unet(name: str, i: dict[str, Any], **extra: Any) -> Any:
        return m[name](i["x"], i["t"], encoder_hidden_states=i["text"], **extra).sample

    def controlnet(i: dict[str, Any]) -> Any:
        return m["controlnet"](i["x"], i["t"], encoder_hidden_states=i["text"], controlnet_cond=i["control"],
                               conditioning_scale=1.0, return_dict=False)

    calls = {
        "text_encode": lambda i: m["text_encoder"](i["ids"])[0],
        "unet": lambda i: unet("unet", i),
        "unet_inpaint": lambda i: unet("unet_inpaint", i),
        "unet_instruct": lambda i: unet("unet_instruct_pix2pix", i),
        "controlnet": controlnet,
        "vae_decode": lambda i: m["vae"].decode(i["z"] / m["vae"].config.scaling_factor).sample,
        "vae_encode": lambda i: m["vae"].encode(i["pixels"]).latent_dist.sample(),
        "clip_score": lambda i: m["clip_vit_b32"](input_ids=i["ids"], pixel_values=i["pixels"]),
        "safety_check": lambda i: m["safety_checker"](clip_input=i["pixels"],
                                                       images=torch.zeros(i["pixels"].shape[0], 8, 8, 3)),
    }
    wrapped = calls[call]

    def run(i: dict[str, Any]) -> Any:
        with torch.no_grad():
            return wrapped(i)
    return run


def _controlnet_step_once(modules: dict[str, Any]) -> Any:
    """Return the ControlNet-then-UNet call that runs the ControlNet once, as the pipeline does."""
    m = modules

    def run(i: dict[str, Any]) -> Any:
        with torch.no_grad():
            down, mid = m["controlnet"](i["x"], i["t"], encoder_hidden_states=i["text"],
                                        controlnet_cond=i["control"], conditioning_scale=1.0, return_dict=False)
            return m["unet"](i["x"], i["t"], encoder_hidden_states=i["text"],
                             down_block_additional_residuals=down, mid_block_additional_residual=mid).sample
    return run


def _make(call: str, shape: dict[str, Any], device: str) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    modules = {name: arch.build(name, device) for name in COMPONENTS_OF[call]}
    run = _controlnet_step_once(modules) if call == "controlnet_step" else _prepare(call, modules, shape)
    return modules, run, _inputs(call, shape["side"], shape["batch"], device, modules)


def count_flops(shape: dict[str, Any]) -> int:
    """Return the FLOPs of one call ``shape`` on the meta device (FlopCounterMode; forward and backward)."""
    from torch.utils.flop_counter import FlopCounterMode

    modules, run, inputs = _make(shape["call"], shape, "meta")
    if shape["call"] == "safety_check":  # its verdict goes through numpy, which meta tensors cannot;
        checker = modules["safety_checker"]  # the 20 concept distances after the encoder are negligible

        def run(i: dict[str, Any]) -> Any:
            return checker.visual_projection(checker.vision_model(i["pixels"])[1])
    with FlopCounterMode(display=False) as counter:
        run(inputs)
    return int(counter.get_total_flops())


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(name: str) -> dict[str, Any]:
    """Return one shape's measurements, made in this process (call it in a fresh one)."""
    shape = SHAPES[name]
    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    flops = count_flops(shape)
    build_start = time.perf_counter()
    modules, run, inputs = _make(shape["call"], shape, "cpu")
    build_seconds = time.perf_counter() - build_start
    gc.collect()
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    run(inputs)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    warm = flops < WARM_BELOW_FLOPS and shape["call"] != "lora_train"
    if warm:  # a small model's first call is mostly one-time set-up: time a second one
        start = time.perf_counter()
        run(inputs)
        seconds = time.perf_counter() - start
    return {
        "unit": shape["unit"], "side": shape["side"], "batch": shape["batch"],
        "sliced": bool(shape.get("sliced", False)), "note": shape["note"],
        "components": list(COMPONENTS_OF[shape["call"]]),
        "parameters": sum(arch.parameters(m) for m in modules.values()),
        "flops": flops, "seconds": round(seconds, 3), "second_call": warm, "build_seconds": round(build_seconds, 1),
        "rss_before_gib": round(before / 2**20, 3),
        "peak_rss_growth_gib": round((peak - before) / 2**20, 3),
        "torch_threads": torch.get_num_threads(),
        "load_1min_before": round(os.getloadavg()[0], 2),
    }


def _machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20, 1),
            "torch": torch.__version__, "python": platform.python_version()}


def main(argv: list[str] | None = None) -> int:
    """Run the shapes not yet measured (or those asked for), each in a fresh subprocess."""
    from tqdm.auto import tqdm

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="shape names (default: all)")
    parser.add_argument("--redo", action="store_true", help="measure again shapes already in the results")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one shape, print JSON
    args = parser.parse_args(argv)

    if args.one:
        torch.set_num_threads(args.threads)
        print(json.dumps(measure(args.one)))
        return 0

    unknown = sorted(set(args.only or []) - set(SHAPES))
    if unknown:
        parser.error(f"unknown shapes {unknown}; known: {', '.join(SHAPES)}")
    record = json.loads(args.results.read_text()) if args.results.exists() else {}
    shapes = record.setdefault("shapes", {})
    todo = [n for n in (args.only or SHAPES) if args.redo or n not in shapes]
    flops_only = record.setdefault("flops_only", {})
    for name in [n for n in FLOPS_ONLY if n not in flops_only]:
        flops_only[name] = {**FLOPS_ONLY[name], "flops": count_flops(FLOPS_ONLY[name])}
    args.results.write_text(json.dumps(record, indent=1) + "\n")
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONPATH": str(ROOT)}
    failed = []
    for name in (bar := tqdm(todo, desc="SD 1.5 shapes", unit="shape")):
        bar.set_postfix_str(name)
        done = subprocess.run([sys.executable, __file__, "--one", name, "--threads", str(args.threads)],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            failed.append(name)
            tqdm.write(f"{name}: failed (exit {done.returncode})\n{done.stderr[-2000:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["measured"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        shapes[name] = result
        record["machine"] = _machine()
        record["method"] = __doc__.split("\n\n", 2)[2].strip()
        args.results.write_text(json.dumps(record, indent=1) + "\n")
        tqdm.write(f"{name}: {result['seconds']:.1f} s, +{result['peak_rss_growth_gib']:.2f} GiB, "
                   f"{result['flops'] / 1e9:,.0f} GFLOP")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
