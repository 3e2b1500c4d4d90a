"""Rehearse SD 3.5 Medium (no T5) at full size on the CPU: each distinct call notebook 11 makes, once each.

    python tools/rehearse_sd35.py            # all shapes not yet in the results file (resumable)
    python tools/rehearse_sd35.py --redo     # measure every shape again
    python tools/rehearse_sd35.py --only transformer_512_b1

The same method as tools/rehearse_sd15.py, on SD 3.5 Medium's real architecture
(data/sd35-architecture/, random weights, float32), each shape in a fresh subprocess:

* ``seconds``: wall time of the one call on this CPU (calls under 200 GFLOP timed on a second call);
* ``peak_rss_growth_gib``: how far the process's peak resident memory rose above what it held just
  before the call (VmHWM reset right before it), i.e. the call's activations in float32;
* ``flops``: torch.utils.flop_counter.FlopCounterMode over the same call on the meta device;
* ``parameters`` of the modules the call uses (the transformer's 384x384 positional table is a
  buffer, not a parameter: see tools/t4_costs.py's weights).

The text the transformer sees is what the workbook passes without the T5: 77 CLIP tokens and
77 zero tokens in T5's place (helpers.generate's max_sequence_length = the CLIP tokenizer's
length), each 4096 wide. Results go to data/rehearsal_sd35.json as each shape finishes. Not part of
``make test``: the transformer alone is 9 GB in float32; the whole run takes minutes on two cores.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sd35_architecture as arch  # noqa: E402
from rehearse_sd15 import WARM_BELOW_FLOPS, _machine, _status_kib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "rehearsal_sd35.json"
CLIP_TOKENS = 77  # both CLIPs' context; the pipeline pads every prompt to it
#: T5's place in the joint text sequence: zeros, as many as CLIP tokens without the T5 (with it: 256)
ZERO_T5_TOKENS = 77

#: Each distinct call notebook 11 makes on SD 3.5 Medium: the unit it prices, the picture side and
#: the batch (latents, pictures or prompts in the one call).
SHAPES: dict[str, dict[str, Any]] = {
    "clip_l_encode_b1": dict(unit="clip_l_encode", call="clip_l", side=512, batch=1,
                             note="CLIP-L (text_encoder), one prompt; a guided call also encodes the negative"),
    "clip_g_encode_b1": dict(unit="clip_g_encode", call="clip_g", side=512, batch=1,
                             note="CLIP-G (text_encoder_2), one prompt"),
    "transformer_512_b1": dict(unit="transformer_eval", call="transformer", side=512, batch=1,
                               note="one latent (64x64, 1024 image tokens + 154 text tokens)"),
    "vae_decode_512_b1": dict(unit="sd3_vae_decode", call="vae_decode", side=512, batch=1,
                              note="one 512-px picture from 16-channel latents"),
    "transformer_512_b2": dict(unit="transformer_eval", call="transformer", side=512, batch=2,
                               note="one guided step (prompt and empty prompt): batch scaling"),
}
#: Shapes whose FLOPs alone are counted (meta device, seconds): how FLOPs grow with size and text.
FLOPS_ONLY: dict[str, dict[str, Any]] = {
    "transformer_1024_b1": dict(call="transformer", side=1024, batch=1),
    "transformer_768_b1": dict(call="transformer", side=768, batch=1),
    "transformer_256_b1": dict(call="transformer", side=256, batch=1),
    "transformer_512_b1_with_t5": dict(call="transformer", side=512, batch=1, t5_tokens=256),
    "vae_decode_1024_b1": dict(call="vae_decode", side=1024, batch=1),
}
#: Which components each call builds.
COMPONENTS_OF: dict[str, tuple[str, ...]] = {
    "clip_l": ("text_encoder",), "clip_g": ("text_encoder_2",), "transformer": ("transformer",),
    "vae_decode": ("vae",),
}


def _inputs(shape: dict[str, Any], device: str) -> dict[str, Any]:
    """Return the tensors one call takes, random, on ``device``."""
    batch, latent = shape["batch"], shape["side"] // 8
    if shape["call"] in ("clip_l", "clip_g"):
        return {"ids": torch.randint(0, 49408, (batch, CLIP_TOKENS), device=device)}
    if shape["call"] == "vae_decode":
        return {"z": torch.randn(batch, 16, latent, latent, device=device)}
    text = CLIP_TOKENS + shape.get("t5_tokens", ZERO_T5_TOKENS)
    return {"x": torch.randn(batch, 16, latent, latent, device=device),
            "text": torch.randn(batch, text, 4096, device=device),
            "pooled": torch.randn(batch, 2048, device=device),
            "t": torch.full((batch,), 500.0, device=device)}


def _make(shape: dict[str, Any], device: str) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Return the modules, a one-call function and its inputs for ``shape`` on ``device``."""
    m = {name: arch.build(name, device) for name in COMPONENTS_OF[shape["call"]]}
    calls = {
        # as StableDiffusion3Pipeline._get_clip_prompt_embeds: all hidden states (it keeps the penultimate)
        "clip_l": lambda i: m["text_encoder"](i["ids"], output_hidden_states=True),
        "clip_g": lambda i: m["text_encoder_2"](i["ids"], output_hidden_states=True),
        "transformer": lambda i: m["transformer"](hidden_states=i["x"], encoder_hidden_states=i["text"],
                                                  pooled_projections=i["pooled"], timestep=i["t"]).sample,
        "vae_decode": lambda i: m["vae"].decode(i["z"] / m["vae"].config.scaling_factor
                                                + m["vae"].config.shift_factor).sample,
    }
    call = calls[shape["call"]]

    def run(i: dict[str, Any]) -> Any:
        with torch.no_grad():
            return call(i)
    return m, run, _inputs(shape, device)


def count_flops(shape: dict[str, Any]) -> int:
    """Return the FLOPs of one call ``shape`` on the meta device (FlopCounterMode)."""
    from torch.utils.flop_counter import FlopCounterMode

    _, run, inputs = _make(shape, "meta")
    with FlopCounterMode(display=False) as counter:
        run(inputs)
    return int(counter.get_total_flops())


def measure(name: str) -> dict[str, Any]:
    """Return one shape's measurements, made in this process (call it in a fresh one)."""
    shape = SHAPES[name]
    torch.manual_seed(0)
    torch.set_flush_denormal(True)
    flops = count_flops(shape)
    build_start = time.perf_counter()
    modules, run, inputs = _make(shape, "cpu")
    build_seconds = time.perf_counter() - build_start
    gc.collect()
    before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    start = time.perf_counter()
    run(inputs)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    warm = flops < WARM_BELOW_FLOPS
    if warm:  # a small model's first call is mostly one-time set-up: time a second one
        start = time.perf_counter()
        run(inputs)
        seconds = time.perf_counter() - start
    return {
        "unit": shape["unit"], "side": shape["side"], "batch": shape["batch"], "sliced": False,
        "note": shape["note"], "components": list(COMPONENTS_OF[shape["call"]]),
        "parameters": sum(arch.parameters(m) for m in modules.values()),
        "flops": flops, "seconds": round(seconds, 3), "second_call": warm, "build_seconds": round(build_seconds, 1),
        "rss_before_gib": round(before / 2**20, 3),
        "peak_rss_growth_gib": round((peak - before) / 2**20, 3),
        "torch_threads": torch.get_num_threads(),
        "load_1min_before": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the shapes not yet measured (or those asked for), each in a fresh subprocess."""
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
    for name in todo:
        print(f"{name}: measuring ...", flush=True)
        done = subprocess.run([sys.executable, __file__, "--one", name, "--threads", str(args.threads)],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            failed.append(name)
            print(f"{name}: failed (exit {done.returncode})\n{done.stderr[-2000:]}", flush=True)
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["measured"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        shapes[name] = result
        record["machine"] = _machine()
        record["method"] = __doc__.split("\n\n", 2)[2].strip()
        args.results.write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {result['seconds']:.1f} s, +{result['peak_rss_growth_gib']:.2f} GiB, "
              f"{result['flops'] / 1e9:,.0f} GFLOP", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
