"""Measure the bundled pose ControlNet on unseen poses, with and without it, and write its card.

    python -m helpers.training.evaluate_controlnet                # print the measurements
    python -m helpers.training.evaluate_controlnet --write-card   # ... and rewrite its records

It uses 08_controlnet's own functions (``helpers.control.pose_control``) on more poses:
``n`` people whose poses are not among the training poses, pictures with and without the
ControlNet from the same seeds, their pose IoU and colour/background adherence, and a sweep
of the conditioning scale.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from helpers.control.pose_control import (
    EVAL_SEED,
    RECOMMENDED_GUIDANCE,
    RECOMMENDED_STEPS,
    controlled_pictures,
    pose_scores,
    unseen_people,
)
from helpers.shapes.people import Person, keypoints
from helpers.training.controlnet_card import write_card

#: The conditioning scales of the sweep.
SCALES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def vae_round_trip_iou(vae, people: Sequence[Person], size: int = 64) -> float:
    """Return the mean pose IoU of rendered people after the VAE's encode -> decode (the ceiling).

    Used by helpers.training.evaluate_controlnet (no notebook calls it).
    """
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
    """Return (plain text-to-image pipeline, ControlNet pipeline) sharing the base model's weights.

    Used by helpers.training.evaluate_controlnet (no notebook calls it).
    """
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
    """Return the ControlNet's evaluation: with vs without it on ``n`` unseen poses, and a scale sweep.

    Used by helpers.training.evaluate_controlnet (no notebook calls it).
    """
    from tqdm.auto import tqdm

    people = unseen_people(n, controlnet=controlnet)  # its training poses, read beside it
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


def main(argv: list[str] | None = None) -> dict:
    """Return the evaluation after measuring the shipped ControlNet (and writing its card if asked).

    Used by python -m helpers.training.evaluate_controlnet (no notebook calls it).
    """
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
        print(f"wrote {write_card(folder)}")
    return result


if __name__ == "__main__":
    main()
