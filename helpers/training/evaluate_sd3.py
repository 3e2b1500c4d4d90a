"""Measure the mini SD 3 against mini-sd, side by side in one run, and write mini-sd3's card.

    python -m helpers.training.evaluate_sd3                # make eval-sd3: the comparison + the card
    python -m helpers.training.evaluate_sd3 -n 20 --no-card   # a quick look

Both bundled models get the same 200 random full captions (seeded, not chosen by hand) at
1, 2, 3, 4, 6, 8, 10, 20 and 50 steps and guidance 1, 2, 3 and 5, read back by the Shapes reader;
the fewest steps at which each reaches "all" >= 0.95 (at its best guidance); the same objects
captioned in Korean; notebook 07's two-object prompts (does joint attention bind colours to
objects?); pictures per second at batch 32 (best of 3, after a warm-up); parameters; training
time from each model's training.json. Results go to ``data/models/mini-sd3/comparison.json``
and the card ``data/models/mini-sd3/README.md`` is written from them and from training.json.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from helpers.core.generate import generate
from helpers.prompting.two_objects import outcome_shares
from helpers.shapes import caption_two, random_two_shapes
from helpers.shapes.captions import random_captions, random_korean_captions
from helpers.shapes.reader import adherence
from helpers.training.evaluate import peak_memory_mib, speed_report
from helpers.training.model_card import part_parameters

STEPS = (1, 2, 3, 4, 6, 8, 10, 20, 50)
GUIDANCES = (1.0, 2.0, 3.0, 5.0)
TARGET = 0.95
MODELS = ("mini-sd", "mini-sd3")
DENOISER = {"mini-sd": ("vae", "text_encoder", "unet"),
            "mini-sd3": ("vae", "text_encoder", "text_encoder_2", "transformer")}


def fewest_steps(grid: list[dict], model: str, target: float = TARGET) -> dict | None:
    """Return the grid row with the fewest steps (then the best "all") where ``model`` reaches ``target``.

    Used by helpers.training.evaluate_sd3 (no notebook calls it).
    """
    rows = [r for r in grid if r["model"] == model and r["all"] >= target]
    return min(rows, key=lambda r: (r["steps"], -r["all"])) if rows else None


def compare(n: int = 200, steps=STEPS, guidances=GUIDANCES, progress: bool = True) -> dict:
    """Return the side-by-side measurements of mini-sd and mini-sd3 as a dict.

    Used by helpers.training.evaluate_sd3 (no notebook calls it).
    """
    from tqdm.auto import tqdm

    from helpers.core.loading import load_pipeline
    from helpers.core.registry import REGISTRY

    prompts = random_captions(n)
    korean = random_korean_captions(n)
    rng = random.Random(7)
    two_prompts = [caption_two(random_two_shapes(rng)) for _ in range(n)]
    grid, korean_rows, binding, speed, parameters, training = [], [], {}, {}, {}, {}
    for model in MODELS:
        pipe = load_pipeline("text2img", model=model, device="cpu")
        pipe.set_progress_bar_config(disable=True)
        folder = Path(REGISTRY[model].local_dir)
        for g, s in tqdm([(g, s) for s in steps for g in guidances], desc=model, disable=not progress):
            began = time.perf_counter()
            images = generate(pipe, prompts, steps=s, guidance=g, cache=False)
            grid.append({"model": model, "steps": s, "guidance": g, **adherence(prompts, images),
                         "seconds": round(time.perf_counter() - began, 1)})
        best = fewest_steps(grid, model) or max((r for r in grid if r["model"] == model),
                                                key=lambda r: (r["all"], -r["steps"]))
        k_images = generate(pipe, korean, steps=best["steps"], guidance=best["guidance"], cache=False)
        korean_rows.append({"model": model, "steps": best["steps"], "guidance": best["guidance"],
                            **adherence(korean, k_images)})
        rec_steps, rec_guidance = REGISTRY[model].steps, REGISTRY[model].guidance
        two_images = generate(pipe, two_prompts, steps=rec_steps, guidance=rec_guidance, cache=False)
        binding[model] = {"steps": rec_steps, "guidance": rec_guidance,
                          **outcome_shares(two_prompts, two_images)}
        speed[model] = speed_report(pipe, batch=32, steps=rec_steps, guidance=rec_guidance)
        parameters[model] = part_parameters(folder, DENOISER[model])
        record = json.loads((folder / "training.json").read_text())
        training[model] = record["wall_clock_minutes"]
    return {"captions": n, "target": TARGET, "grid": grid, "korean": korean_rows,
            "fewest_steps": {m: fewest_steps(grid, m) for m in MODELS},
            "two_objects": binding, "speed": speed, "parameters_m": parameters,
            "training_minutes": training, "peak_memory_mib": peak_memory_mib(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads()}


def summary_line(results: dict) -> str:
    """Return one sentence: the fewest steps each model needs for "all" >= target, and at what guidance.

    Used by helpers.training.evaluate_sd3 (no notebook calls it).
    """
    parts = []
    for model, row in results["fewest_steps"].items():
        if row is None:
            parts.append(f"{model} never reaches all >= {results['target']} on this grid")
        else:
            parts.append(f"{model} reaches all >= {results['target']} at {row['steps']} steps "
                         f"(guidance {row['guidance']:g}: all {row['all']:.3f})")
    return f"{results['captions']} random captions: " + "; ".join(parts) + "."


def _markdown(rows: list[list], header: list[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(folder: Path, results: dict) -> str:
    """Return mini-sd3's model card (Markdown) from its training.json and the comparison ``results``.

    Used by helpers.training.evaluate_sd3 (no notebook calls it).
    """
    from helpers.core.registry import REGISTRY

    training = json.loads((folder / "training.json").read_text())
    cfg, stage = training["config"], training["transformer"]
    model_cfg = cfg["model"]
    params = results["parameters_m"]["mini-sd3"]
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    attributes = ["shape", "size", "color", "position", "background", "all"]
    grid_rows = [[r["model"], r["steps"], f"{r['guidance']:g}", *(f"{r[a]:.3f}" for a in attributes),
                  r["seconds"]] for r in results["grid"]]
    two = results["two_objects"]
    two_cols = [k for k in two["mini-sd"] if k not in ("steps", "guidance")]
    two_rows = [[m, two[m]["steps"], f"{two[m]['guidance']:g}", *(f"{two[m][k]:.3f}" for k in two_cols)]
                for m in two]
    speed = results["speed"]
    speed_rows = [[m, speed[m]["steps"], f"{speed[m]['guidance']:g}", speed[m]["images_per_second"],
                   f"{sum(results['parameters_m'][m].values()):.2f}", results["training_minutes"][m]]
                  for m in speed]
    korean_rows = [[r["model"], r["steps"], f"{r['guidance']:g}", *(f"{r[a]:.3f}" for a in attributes)]
                   for r in results["korean"]]
    extended = (f" (first planned for {stage['extended_from']:,} steps, extended at step {stage['at_step']:,})"
                if stage.get("extended_from") else "")
    entry = REGISTRY["mini-sd3"]
    return f"""---
license: mit
library_name: diffusers
pipeline_tag: text-to-image
tags: [stable-diffusion-3, flow-matching, mmdit, tiny, education, shapes-world]
---

# mini-sd3: a miniature Stable Diffusion 3 trained on the Shapes world

A text-to-image model made of Stable Diffusion 3's parts — `SD3Transformer2DModel` (MMDiT: text and
image tokens in one attention), `FlowMatchEulerDiscreteScheduler`, two `CLIPTextModelWithProjection`
text encoders, no T5 (as the workbook loads SD 3.5 Medium on a T4) — trained by rectified flow on the
Shapes world (`docs/shapes-world.md`) by this workbook. It shares mini-sd's VAE and word tokenizer, so
the two bundled models see the same latents and the same words; notebook 11 compares them.

```python
from diffusers import StableDiffusion3Pipeline
pipe = StableDiffusion3Pipeline.from_pretrained("data/models/mini-sd3", local_files_only=True,
                                                text_encoder_3=None, tokenizer_3=None)
image = pipe("a large red circle at the center on a blue background", num_inference_steps={entry.steps},
             guidance_scale={entry.guidance:g}, height=64, width=64, max_sequence_length=32).images[0]
```

(`max_sequence_length=32`: without a T5 the pipeline appends that many zero tokens; the model was trained
with 32. `helpers.generate` passes it.)

## Parts

| part | configuration | parameters (M) |
| --- | --- | --- |
| VAE | mini-sd's AutoencoderKL (frozen), 64 px → 8×8×{model_cfg['latent_channels']} latents, scaling 0.6704, shift 0 | {params['vae']} |
| tokenizer, tokenizer_2 | mini-sd's CLIPTokenizer (one token per caption word), max length {model_cfg['max_length']} | – |
| text_encoder, text_encoder_2 | CLIPTextModelWithProjection, hidden {model_cfg['text_hidden']}, {model_cfg['text_layers']} layers, {model_cfg['text_heads']} heads; penultimate states side by side ({2 * model_cfg['text_hidden']} features), pooled outputs side by side | {params['text_encoder']}, {params['text_encoder_2']} |
| transformer | SD3Transformer2DModel, {model_cfg['layers']} joint blocks, {model_cfg['heads']} heads × {model_cfg['head_dim']}, patch {model_cfg['patch_size']} (64 image tokens), 32 CLIP + 32 zero "T5" text tokens | {params['transformer']} |
| scheduler | FlowMatchEulerDiscreteScheduler, shift 1.0, 1000 train steps | – |

Folder size: {size_mb:.1f} MB, safetensors only.

## How it was made

    python -m helpers.training.train_mini_sd3      # make train-mini-sd3; re-run to resume from runs/mini-sd3/

- Data: all 1680 one-object pictures of the Shapes world at 64 px, encoded once by mini-sd's VAE (no
  people: mini-sd was trained with 5000 people as 20% of its batches, so the two models did not see
  exactly the same data; the comparison below uses one-object captions, which both learned).
- Captions as mini-sd's, drawn afresh each step: {cfg['full_prob']:.0%} full, partial otherwise, {cfg['empty_prob']:.0%} empty (for
  classifier-free guidance); {cfg['korean_share']:.0%} in Korean.
- Rectified flow: x_s = (1 − s)·x_0 + s·noise with s uniform in [0, 1], the transformer predicts the
  velocity noise − x_0 (MSE), timestep 1000·s. The text encoders and the transformer train together.
- {stage['steps']:,} steps{extended} at batch {cfg['batch']}, AdamW lr {cfg['lr']:g} with {cfg['warmup']} warm-up steps and cosine decay to 10%,
  EMA {cfg['ema_decay']} (the EMA weights are shipped); final smoothed loss {stage['smoothed_loss']}.
- Hardware: the workbook's 2-core CPU machine, 24 GiB, no GPU, torch with {training['torch_threads']} threads:
  **{training['wall_clock_minutes']} minutes** of wall-clock time (every resumed run added up). Other light
  work (editing, short tests) ran on the machine at the same time.
- Seed {cfg['seed']}; `accelerate launch -m helpers.training.train_mini_sd3` runs it on GPUs.

## Measured against mini-sd

    python -m helpers.training.evaluate_sd3        # make eval-sd3: rewrites comparison.json and this card

{summary_line(results)}
Recommended for mini-sd3: **{entry.steps} steps, guidance {entry.guidance:g}** (the registry's entry).

{_markdown(grid_rows, ["model", "steps", "guidance", *attributes, "seconds"])}

The same objects captioned in Korean, at each model's fewest steps above:

{_markdown(korean_rows, ["model", "steps", "guidance", *attributes])}

Notebook 07's two-object prompts ({results['captions']} of them; neither model saw two objects in training),
at each model's recommended setting:

{_markdown(two_rows, ["model", "steps", "guidance", *two_cols])}

Speed (batch 32 on the 2-core CPU, best of 3 after a warm-up, {results['torch_threads']} torch threads), size and training time:

{_markdown(speed_rows, ["model", "steps", "guidance", "pictures/s", "parameters (M)", "training (min)"])}

Peak memory of the benchmark process: {results['peak_memory_mib']} MiB; torch {results['torch']}.

## Limits

Trained only on single objects of the Shapes world at 64 px; anything else is out of its world. It is a
teaching model: it shows SD 3's parts and how flow matching behaves, not SD 3's quality.
"""


def main(argv: list[str] | None = None) -> dict:
    """Run the comparison, write comparison.json and (unless --no-card) the card.

    Used by python -m helpers.training.evaluate_sd3 (no notebook calls it).
    """
    from helpers.core.config import BUNDLED_SD3_DIR

    parser = argparse.ArgumentParser(description="mini-sd3 vs mini-sd on the Shapes world")
    parser.add_argument("-n", type=int, default=200, help="number of random captions")
    parser.add_argument("--no-card", action="store_true", help="print, but do not write the card")
    parser.add_argument("--out", type=Path, default=BUNDLED_SD3_DIR / "comparison.json")
    args = parser.parse_args(argv)
    began = time.time()
    results = compare(n=args.n)
    results["benchmark_seconds"] = round(time.time() - began, 1)
    results["summary"] = summary_line(results)
    print(results["summary"])
    args.out.write_text(json.dumps(results, indent=2))
    if not args.no_card:
        (BUNDLED_SD3_DIR / "README.md").write_text(render_card(BUNDLED_SD3_DIR, results))
    return results


if __name__ == "__main__":
    main()
