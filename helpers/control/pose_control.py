"""Pose control with the mini ControlNet: unseen test poses, pose adherence with and without it.

``python -m helpers.control.pose_control --write-card`` measures the shipped ControlNet and
rewrites its card (``data/models/mini-controlnet-pose/README.md``) from what it measured.
08_controlnet uses the same functions on fewer poses.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.core.latents import picture_side
from helpers.core.registry import REGISTRY
from helpers.shapes.people import (
    Person,
    keypoints,
    person_caption,
    random_person,
    render_pose_guide,
)

EVAL_SEED = 2024
#: How the bundled model is sampled (the registry's entry is the one source).
RECOMMENDED_STEPS: int = REGISTRY["mini-sd"].steps
RECOMMENDED_GUIDANCE: float = REGISTRY["mini-sd"].guidance
SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def _pose_key(person: Person) -> tuple[float, ...]:
    return tuple(np.round(keypoints(person.pose), 6).ravel())


def unseen_people(n: int, training_people: int = 8000, training_seed: int = 0,
                  seed: int = EVAL_SEED) -> list[Person]:
    """Return ``n`` random people whose poses are not among the ControlNet's training poses.

    The training poses are redrawn from ``training_seed`` exactly as the training script drew
    them, so "unseen" is checked, not assumed.
    Introduced in 08_controlnet.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    train_rng = random.Random(training_seed)
    seen = {_pose_key(random_person(train_rng)) for _ in range(training_people)}
    rng = random.Random(seed)
    people: list[Person] = []
    while len(people) < n:
        person = random_person(rng)
        if _pose_key(person) not in seen:
            people.append(person)
    return people


def pose_guides(people: Sequence[Person], size: int = 64) -> list:
    """Return the OpenPose guide picture of each person's pose.

    Introduced in 08_controlnet.
    """
    return [render_pose_guide(keypoints(p.pose), size) for p in people]


def controlled_pictures(pipe, people: Sequence[Person], *, scale: float = 1.0,
                        steps: int = RECOMMENDED_STEPS, guidance: float = RECOMMENDED_GUIDANCE,
                        seed: int = 0, batch: int = 32) -> list:
    """Return one picture per person from its caption, with its pose guide when ``pipe`` has a ControlNet.

    Picture ``i`` uses seed ``seed + i`` with or without the ControlNet, so the two can be
    compared picture by picture.
    Introduced in 08_controlnet.
    """
    from helpers.core.generate import generate

    controlled = hasattr(pipe, "controlnet")
    size = picture_side(pipe)
    prompts = [person_caption(p) for p in people]
    # Guides are drawn at 64 px or more (the spec's smallest side is 32); the ControlNet pipeline
    # would otherwise take its output size from the guide, so the size is passed explicitly.
    guides = pose_guides(people, max(size, 64)) if controlled else None
    images = []
    for start in range(0, len(people), batch):
        extra = {}
        if controlled:
            extra = dict(image=guides[start:start + batch], controlnet_conditioning_scale=scale)
        images += generate(pipe, prompts[start:start + batch], steps=steps, guidance=guidance,
                           seed=seed + start, batch=batch, width=size, height=size, **extra)
    return images


def pose_scores(people: Sequence[Person], images: Sequence) -> dict[str, float]:
    """Return mean pose IoU, the share with IoU >= 0.5, and colour/background adherence.

    Introduced in 08_controlnet.
    """
    from helpers.shapes.reader import adherence, pose_iou

    if len(people) != len(images):
        raise ValueError(f"{len(people)} people but {len(images)} images")
    ious = [pose_iou(image, keypoints(p.pose)) for p, image in zip(people, images, strict=True)]
    scores = adherence([person_caption(p) for p in people], images)
    return {"pose_iou": float(np.mean(ious)), "iou_at_least_0.5": float(np.mean(np.array(ious) >= 0.5)),
            "color": scores["color"], "background": scores["background"], "n": len(people)}


def vae_round_trip_iou(vae, people: Sequence[Person], size: int = 64) -> float:
    """Return the mean pose IoU of rendered people after the VAE's encode -> decode (the ceiling)."""
    import torch

    from helpers.core.images import to_pil
    from helpers.core.latents import image_to_tensor, latent_distribution
    from helpers.shapes.people import render_person
    from helpers.shapes.reader import pose_iou

    x = torch.stack([image_to_tensor(render_person(p, size)) for p in people])
    with torch.no_grad():
        y = vae.decode(latent_distribution(vae, x)[0]).sample
    images = [to_pil((picture.clamp(-1, 1) + 1) / 2) for picture in y]
    return float(np.mean([pose_iou(img, keypoints(p.pose)) for p, img in zip(people, images, strict=True)]))


def load_pair(base: Path, controlnet: Path):
    """Return (plain text-to-image pipeline, ControlNet pipeline) sharing the base model's weights."""
    from diffusers import (
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        StableDiffusionPipeline,
    )

    plain = StableDiffusionPipeline.from_pretrained(base, safety_checker=None,
                                                    requires_safety_checker=False)
    plain.set_progress_bar_config(disable=True)
    model = ControlNetModel.from_pretrained(controlnet)
    controlled = StableDiffusionControlNetPipeline.from_pipe(plain, controlnet=model)
    controlled.set_progress_bar_config(disable=True)
    return plain, controlled


def evaluate(base: Path, controlnet: Path, n: int = 128, sweep_n: int = 64,
             scales: Sequence[float] = SCALES) -> dict:
    """Return the ControlNet's evaluation: with vs without it on ``n`` unseen poses, and a scale sweep."""
    from tqdm.auto import tqdm

    training = json.loads((Path(controlnet) / "training.json").read_text())
    cfg = training["config"]
    people = unseen_people(n, cfg["people"], cfg["seed"])
    plain, controlled = load_pair(base, controlnet)
    began = time.time()
    result = {"n": n, "steps": RECOMMENDED_STEPS, "guidance": RECOMMENDED_GUIDANCE,
              "eval_seed": EVAL_SEED}
    result["vae_round_trip_iou"] = vae_round_trip_iou(plain.vae, people)
    result["without"] = pose_scores(people, controlled_pictures(plain, people))
    t0 = time.time()
    result["with"] = pose_scores(people, controlled_pictures(controlled, people, scale=1.0))
    result["seconds_per_image_with"] = round((time.time() - t0) / n, 4)
    sweep = []
    for scale in tqdm(scales, desc="conditioning scale"):
        row = pose_scores(people[:sweep_n],
                          controlled_pictures(controlled, people[:sweep_n], scale=scale))
        sweep.append({"scale": scale, **row})
    result["sweep"] = sweep
    result["seconds"] = round(time.time() - began, 1)
    import torch

    result["torch"] = torch.__version__
    result["torch_threads"] = torch.get_num_threads()
    return result


def render_card(folder: Path) -> str:
    """Return the Markdown model card of the ControlNet in ``folder`` from its records."""
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
    python -m helpers.control.pose_control --write-card

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


def main(argv: list[str] | None = None) -> dict:
    """Return the evaluation after measuring the shipped ControlNet (and writing its card if asked)."""
    from helpers.core.config import BUNDLED_CONTROLNET_DIR, BUNDLED_MODEL_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--controlnet", type=Path, default=BUNDLED_CONTROLNET_DIR)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--sweep-n", type=int, default=64)
    parser.add_argument("--write-card", action="store_true",
                        help="write evaluation.json and README.md into the ControlNet's folder")
    args = parser.parse_args(argv)
    result = evaluate(args.base, args.controlnet, args.n, args.sweep_n)
    print(json.dumps({k: result[k] for k in ("with", "without")}, indent=2))
    for row in result["sweep"]:
        print(f"scale {row['scale']:<5g} pose IoU {row['pose_iou']:.3f}  colour {row['color']:.3f}")
    if args.write_card:
        folder = Path(args.controlnet)
        (folder / "evaluation.json").write_text(json.dumps(result, indent=2))
        (folder / "README.md").write_text(render_card(folder))
        print(f"wrote {folder / 'README.md'}")
    return result


if __name__ == "__main__":
    main()
