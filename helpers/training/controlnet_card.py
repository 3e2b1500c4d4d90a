"""Write the bundled pose ControlNet's card (README.md) from its training and evaluation records.

The card's numbers are never typed in: they are read from ``training.json`` (written by
``helpers.training.train_controlnet``) and ``evaluation.json`` (written by
``helpers.training.evaluate_controlnet``) in the ControlNet's folder.
"""

from __future__ import annotations

import json
from pathlib import Path


def render_card(folder: Path) -> str:
    """Return the Markdown model card of the ControlNet in ``folder`` from its records.

    Used by helpers.training.controlnet_card (no notebook calls it).
    """
    training = json.loads((folder / "training.json").read_text())
    ev = json.loads((folder / "evaluation.json").read_text())
    cfg = training["config"]
    size_mb = sum(p.stat().st_size for p in folder.rglob("*.safetensors")) / 1e6
    sweep_rows = "\n".join(
        f"| {row['scale']:g} | {row['pose_iou']:.3f} | {row['iou_at_least_0.5']:.2f} | "
        f"{row['color']:.3f} | {row['background']:.3f} |" for row in ev["sweep"])
    w, wo = ev["with"], ev["without"]
    over_budget = ""
    if training["wall_clock_minutes"] > 60:
        over_budget = (", over the workbook's 60-minute budget for this script; it checkpoints every "
                       f"{cfg['save_every']} steps and resumes when re-run, so it can be trained in parts")
    return f"""---
license: mit
library_name: diffusers
base_model: ../mini-sd
tags: [controlnet, openpose, tiny, education, shapes-world]
---

# mini-controlnet-pose: a pose ControlNet for the bundled mini Stable Diffusion

A `ControlNetModel` made with `ControlNetModel.from_unet` from the mini UNet in `data/models/mini-sd`
(its down blocks and middle block copied, a small encoder for the pose guide, zero convolutions on
every output), trained to follow an OpenPose-style pose guide (coloured limbs and dots on black,
`helpers.shapes.people.render_pose_guide`, Shapes world "Figures" section). {training['parameters_millions']} M parameters,
{size_mb:.1f} MB of safetensors.

```python
from helpers import load_pipeline
pipe = load_pipeline("controlnet", model="mini-sd")   # mini-sd + this ControlNet
image = pipe("a red person on a blue background", image=pose_guide,
             num_inference_steps={ev['steps']}, guidance_scale={ev['guidance']:g}).images[0]
```

## How it was made

    python -m helpers.training.train_controlnet       # re-run to resume from runs/mini-controlnet/
    python -m helpers.training.evaluate_controlnet --write-card

- Data: {cfg['people']} people in random poses (seed {cfg['seed']}), 64 px pictures and their 64 px pose guides;
  captions drawn afresh each step: {cfg['full_prob']:.0%} full (`a {{color}} person on a {{background}} background`),
  {1 - cfg['full_prob'] - cfg['empty_prob']:.0%} partial, {cfg['empty_prob']:.0%} empty.
- Frozen: the mini model's VAE, text encoder and UNet. Trained: the ControlNet only, {training['controlnet']['steps']} steps at
  batch {cfg['batch']}, AdamW lr {cfg['lr']:g} with {cfg['warmup']} warm-up steps and cosine decay, min-SNR-{cfg['min_snr_gamma']:g}
  loss weighting, gradient clipping 1.0, EMA {cfg['ema_decay']} (the EMA weights are shipped). Final smoothed loss
  {training['controlnet']['smoothed_loss']}.
- Hardware: the workbook's 2-core CPU machine, no GPU, {training['torch_threads']} torch threads;
  **{training['wall_clock_minutes']} minutes** of training wall-clock time (every resumed run added up), on a
  machine shared with other work at the time{over_budget}.

## Evaluation

{ev['n']} random poses **not in the training set** (seed {ev['eval_seed']}; each checked against the
training poses), prompt `a {{color}} person on a {{background}} background`, {ev['steps']} DDIM steps,
guidance {ev['guidance']:g}, one seed per pose, the same seed with and without the ControlNet. Pose adherence is the
intersection over union of the generated person's mask (every pixel not of the background colour)
with the mask drawn from the same keypoints (`helpers.shapes.reader.pose_iou`).

| | mean pose IoU | share with IoU ≥ 0.5 | colour | background |
| --- | --- | --- | --- | --- |
| without the ControlNet (text only) | {wo['pose_iou']:.3f} | {wo['iou_at_least_0.5']:.2f} | {wo['color']:.3f} | {wo['background']:.3f} |
| with the ControlNet (scale 1) | **{w['pose_iou']:.3f}** | {w['iou_at_least_0.5']:.2f} | {w['color']:.3f} | {w['background']:.3f} |

Conditioning scale sweep (first {ev['sweep'][0]['n']} of those poses):

| scale | mean pose IoU | IoU ≥ 0.5 | colour | background |
| --- | --- | --- | --- | --- |
{sweep_rows}

For scale: the mini VAE alone (encode → decode the rendered pictures of the same people) keeps a mean
pose IoU of {ev['vae_round_trip_iou']:.3f}, so that is roughly the ceiling. {ev['seconds_per_image_with']:.3f} s per picture with
the ControlNet at batch 32 on this CPU ({ev['torch_threads']} threads) and the evaluation's
{ev['seconds'] / 60:.1f} minutes were measured on the same shared machine, so they are upper bounds
(torch {ev['torch']}).

## Limits

It knows only stick-built people of the Shapes world, at 64 px, and only the mini model's words.
"""


def write_card(folder: Path) -> Path:
    """Write ``folder/README.md`` from the records in ``folder``; return its path.

    Used by helpers.training.evaluate_controlnet (no notebook calls it).
    """
    path = Path(folder) / "README.md"
    path.write_text(render_card(Path(folder)))
    return path
