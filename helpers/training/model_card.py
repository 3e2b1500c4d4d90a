"""Write the bundled model's card (README.md) from its training and evaluation records.

The card's numbers are never typed in: they are read from ``training.json``
(written by ``helpers.training.train_mini_sd``) and ``evaluation.json`` (written by
``helpers.training.evaluate``) in the model folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from helpers.shapes import ATTRIBUTES
from helpers.training.mini_sd import RECOMMENDED_GUIDANCE, RECOMMENDED_STEPS


def _folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def part_parameters(folder: Path, parts: Sequence[str] = ("vae", "text_encoder", "unet")) -> dict[str, float]:
    """Return each part's parameter count in millions, read from its safetensors headers.

    Used by helpers.training.{evaluate_sd3, model_card} (no notebook calls it).
    """
    from safetensors import safe_open

    out = {}
    for part in parts:
        total = 0
        for file in (folder / part).glob("*.safetensors"):
            with safe_open(file, "pt") as f:
                for key in f.keys():
                    total += math.prod(f.get_slice(key).get_shape())
        out[part] = round(total / 1e6, 2)
    return out


def format_grid(grid: Sequence[dict]) -> str:
    """Return the adherence grid as a Markdown table.

    Used by helpers.training.{evaluate, model_card} (no notebook calls it).
    """
    head = ["steps", "guidance", *ATTRIBUTES, "all"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in grid:
        cells = [str(row["steps"]), f"{row['guidance']:g}"]
        cells += [f"{row[name]:.3f}" for name in (*ATTRIBUTES, "all")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _language_table(evaluation: dict) -> str:
    """Return the English-vs-Korean adherence table, or a line saying it was not measured."""
    rows = evaluation.get("languages")
    if not rows:
        return "Korean captions: not measured (this model was trained on English captions only)."
    lines = ["The same objects captioned in Korean (`파란 배경 가운데에 큰 빨간 원`), guidance "
             f"{rows[0]['guidance']:g}:", "",
             "| steps | English \"all\" | Korean \"all\" | Korean shape | size | color | position "
             "| background |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ko = row["korean"]
        lines.append(f"| {row['steps']} | {row['english_all']:.3f} | {ko['all']:.3f} | "
                     + " | ".join(f"{ko[a]:.3f}" for a in ATTRIBUTES) + " |")
    return "\n".join(lines)


def _fidelity_lines(evaluation: dict) -> str:
    """Return the fidelity table (pictures against clean renders), or a line saying it is missing."""
    f = evaluation.get("fidelity")
    if not f:
        return "Fidelity to clean renders: not measured."
    return (f"How far the pictures are from the clean render of what they show (mean absolute error "
            f"per pixel on the 0-255 scale; `helpers.training.fidelity`):\n\n"
            "| pictures | error /255 |\n|---|---|\n"
            f"| generated, read right ({f['read_right']} of {f['captions']} random full captions, "
            f"{f['steps']} steps, guidance {f['guidance']:g}) | {f['generated_vs_render']:.2f} |\n"
            f"| the VAE's own round trip of 32 renders | {f['vae_round_trip']:.2f} |\n"
            f"| the training pictures | {f['training_pictures']:.2f} |")


def _extensions(stage: dict) -> str:
    """Return the card's words for a stage whose run was extended (resumed with more steps), or "".

    A stage records its last extension as ``extended_from``/``at_step``; one extended more than once
    lists them all in ``extensions`` (``[{"extended_from": 7000, "at_step": 7000}, ...]``).
    """
    steps = stage.get("extensions") or ([{"extended_from": stage["extended_from"], "at_step": stage["at_step"]}]
                                        if stage.get("extended_from") else [])
    if not steps:
        return ""
    lengths = [step["extended_from"] for step in steps[1:]] + [stage["steps"]]
    parts = [f"at step {step['at_step']:,} to {length:,}" for step, length in zip(steps, lengths, strict=True)]
    return (f" (first planned for {steps[0]['extended_from']:,} steps and extended {', then '.join(parts)}; "
            "the cosine learning-rate schedule was re-stretched to the new length"
            + (" each time)" if len(steps) > 1 else ")"))


def render_card(folder: Path) -> str:
    """Return the Markdown model card for the model in ``folder``.

    Used by helpers.training.model_card (no notebook calls it).
    """
    training = json.loads((folder / "training.json").read_text())
    evaluation = json.loads((folder / "evaluation.json").read_text())
    cfg = training["config"]
    model = cfg["model"]
    params = part_parameters(folder)
    rec = next(r for r in evaluation["grid"]
               if r["steps"] == RECOMMENDED_STEPS and r["guidance"] == RECOMMENDED_GUIDANCE)
    people = evaluation["people"]
    speed = evaluation["speed"]
    languages = _language_table(evaluation)
    fidelity = _fidelity_lines(evaluation)
    vae_extended = _extensions(training["vae"])
    unet_extended = _extensions(training["unet"])
    decoder = training.get("decoder")
    decoder_line = (
        f"- Stage 3, the VAE's decoder fine-tuned with its encoder frozen (as SD's own \"ft-MSE\" decoder was, "
        f"so the latents and the UNet stay as they are): {decoder['steps']} steps at batch {cfg['vae_batch']}, "
        f"AdamW lr {cfg['decoder_lr']:g}, the VAE's pixel loss plus {cfg['decoder_worst_weight']:g}× each picture's worst "
        "squared pixel error (L1 alone left a few far-off pixels, such as a corner pixel in the object's colour, "
        "that a student sees as a speck and the reader as part of the object).\n"
        if decoder else "")
    decoder_minutes = f", decoder {decoder['seconds'] / 60:.1f}" if decoder else ""
    vae_loss = "L1" if cfg.get("vae_loss", "mse") == "l1" else "MSE"
    korean_share = cfg.get("korean_share", 0.0)
    languages_line = (f"; {korean_share:.0%} of the shapes' captions in Korean (`{{background}} 배경 "
                      f"{{position}}에 {{size}} {{color}} {{shape}}`, docs/shapes-world.md), people's in English"
                      if korean_share else "; English only")
    knows = "in English and Korean" if korean_share else "in English"
    variety_rows = "\n".join(
        f"| {row['prompt']} | " + " | ".join(
            str(row.get(name, "named")) for name in ("size", "color", "position", "background"))
        + f" | {row['shape_right']:.2f} |" for row in evaluation["variety"])
    latent = model["image_size"] // 2 ** (len(model["vae_channels"]) - 1)
    wall = training.get("wall_clock_minutes")
    wall_line = (f"{wall} minutes of wall-clock time in all (every resumed run added up)"
                 if wall is not None else f"{training['seconds_this_run'] / 60:.1f} minutes")
    if wall is not None and wall > 60:
        wall_line += (", over the workbook's 60-minute budget for this script; it checkpoints every "
                      f"{cfg['save_every']} steps and resumes when re-run, so it can be trained in parts")
    return f"""---
license: mit
library_name: diffusers
pipeline_tag: text-to-image
tags: [stable-diffusion, tiny, education, shapes-world]
---

# mini-sd: a miniature Stable Diffusion trained on the Shapes world

A text-to-image model made of exactly Stable Diffusion 1.5's parts — `AutoencoderKL`,
`CLIPTokenizer` + `CLIPTextModel`, `UNet2DConditionModel` with cross-attention and SD 1.5's
DDIM scheduler — shrunk to run on a laptop CPU and trained by this workbook on the
Shapes world (`docs/shapes-world.md`, v1): one-object pictures and people in poses.
It is the workbook's offline backend: `helpers.load_pipeline()` returns it when there is no
GPU or no model hub.

```python
from diffusers import StableDiffusionPipeline
pipe = StableDiffusionPipeline.from_pretrained("data/models/mini-sd", local_files_only=True)
image = pipe("a large red circle at the center on a blue background",
             num_inference_steps={RECOMMENDED_STEPS}, guidance_scale={RECOMMENDED_GUIDANCE:g}).images[0]
```

## Parts

| part | configuration | parameters (M) |
| --- | --- | --- |
| VAE | AutoencoderKL, blocks {tuple(model['vae_channels'])}, 1 layer each, {model['image_size']} px → {model['latent_channels']}×{latent}×{latent} latents, scaling factor {training['unet']['scaling_factor']:.4f} | {params['vae']} |
| tokenizer | CLIPTokenizer with one token per caption word (letters for other words), max length {model['max_length']} | – |
| text encoder | CLIPTextModel, hidden {model['text_hidden']}, {model['text_layers']} layers, {model['text_heads']} heads | {params['text_encoder']} |
| UNet | UNet2DConditionModel, blocks {tuple(model['unet_channels'])}, cross-attention in every block | {params['unet']} |
| scheduler | DDIM, scaled_linear 0.00085–0.012, 1000 train steps, epsilon (SD 1.5's) | – |

Folder size: {_folder_size_mb(folder):.1f} MB, safetensors only.

## How it was made

    python -m helpers.training.train_mini_sd          # re-run to resume from runs/mini-sd/

- Data: all {1680 if cfg['shapes_limit'] is None else cfg['shapes_limit']} one-object pictures of the Shapes world and {cfg['people']} people in random poses,
  rendered at {model['image_size']} px; people are {cfg['people_share']:.0%} of each batch. No two-object pictures (the
  failure-case lesson measures what the model does with them).
- Captions drawn afresh each step: {cfg['full_prob']:.0%} full, {1 - cfg['full_prob'] - cfg['empty_prob']:.0%} partial (each optional attribute
  dropped with probability 1/2), {cfg['empty_prob']:.0%} empty (for classifier-free guidance){languages_line}.
- Stage 1, VAE: {cfg['vae_steps']} steps{vae_extended} at batch {cfg['vae_batch']}, AdamW lr {cfg['vae_lr']}, {vae_loss} + {cfg['kl_weight']:g}·KL;
  from step {cfg['edge_weight_from']} on, edge pixels weigh {cfg['edge_weight']:g}× in the pixel loss (a plain mean left small squares and
  triangles rounded); final MSE {training['vae']['final_mse']:.4f} (pixels in [-1, 1]).
- Stage 2, text encoder + UNet together: {cfg['unet_steps']} steps{unet_extended} at batch {cfg['unet_batch']}, AdamW lr {cfg['unet_lr']} with
  warm-up and cosine decay, min-SNR-{cfg['min_snr_gamma']:g} loss weighting, EMA {cfg['ema_decay']} (the EMA weights are shipped).
  From step {cfg['high_t_from']} on, {cfg['high_t_share']:.0%} of each batch draws t from {cfg['high_t_min']}–999: SD's schedule leaves
  about 7% of the signal at t=999, which in an 8×8 latent already shows where the object is, so a model
  trained on uniform t learns to copy the position from the noise (the first mini-sd trained here, English
  only with 4-channel latents, read 0.16 of positions right at step 3,000 on 64 captions).
{decoder_line}- Hardware: the workbook's 2-core CPU machine, 24 GiB, no GPU, torch {evaluation['torch']},
  {training['torch_threads']} threads; {wall_line} (VAE {training['vae']['seconds'] / 60:.1f}, text encoder + UNet
  {training['unet']['seconds'] / 60:.1f}{decoder_minutes}). The machine was shared with other work for part of the run, so
  this is an upper bound.
- Seed {cfg['seed']}; `accelerate` runs the same script on one or more GPUs (`accelerate launch -m helpers.training.train_mini_sd`).

## Evaluation

    python -m helpers.training.evaluate --write-card

{evaluation['captions']} random full captions (seeded, not chosen by hand), one picture each, read back by the
Shapes reader (`helpers.shapes.reader`). Recommended: **{RECOMMENDED_STEPS} DDIM steps, guidance {RECOMMENDED_GUIDANCE:g}**:
every attribute {min(rec[a] for a in ('shape', 'size', 'color', 'position', 'background')):.3f} or better, "all" {rec['all']:.3f}.

{format_grid(evaluation['grid'])}

{languages}

{fidelity}

People (`a {{color}} person on a {{background}} background`, {people['n']} random poses): colour
{people['color']:.3f}, background {people['background']:.3f}; {people['one_person_sized_object']:.3f} of the pictures read as one
connected person-sized object.

Variety of partial prompts (distinct values read over {evaluation['variety'][0]['seeds']} seeds; "named" = fixed by the prompt):

| prompt | size | color | position | background | shape right |
| --- | --- | --- | --- | --- | --- |
{variety_rows}

Speed: {speed['images_per_second']} images per second at batch {speed['batch']}, {speed['steps']} steps, guidance
{speed['guidance']:g} on this CPU ({speed['torch_threads']} threads); peak memory of the benchmark process
{evaluation['peak_memory_mib']} MiB. The benchmark took {evaluation.get('benchmark_seconds', 0) / 60:.1f} minutes.

## Limits

It knows only the Shapes world's words, {knows}; any other word is spelled out
in letters (or UTF-8 bytes) and mostly ignored. It has never seen two objects in one picture. It is a teaching model,
not an artist.
"""


def write_card(folder: Path) -> Path:
    """Write ``folder/README.md`` from the records in ``folder``; return its path.

    Used by helpers.training.evaluate (no notebook calls it).
    """
    path = Path(folder) / "README.md"
    path.write_text(render_card(Path(folder)))
    return path
