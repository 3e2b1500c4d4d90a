"""Pose control with a ControlNet: unseen test poses, pose guides, pose adherence with and without it.

08_controlnet uses these functions; ``helpers.training.evaluate_controlnet`` measures the
shipped ControlNet with the same functions on more poses and writes its card.
"""

from __future__ import annotations

import json
import random
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

#: Test people are drawn from this seed (the ControlNet's were drawn from its training seed).
EVAL_SEED = 2024
#: How the bundled model is sampled (the registry's entry is the one source).
RECOMMENDED_STEPS: int = REGISTRY["mini-sd"].steps
RECOMMENDED_GUIDANCE: float = REGISTRY["mini-sd"].guidance


def _pose_key(person: Person) -> tuple[float, ...]:
    return tuple(np.round(keypoints(person.pose), 6).ravel())


def people_from_seed(count: int, seed: int) -> list[Person]:
    """Return ``count`` random people drawn one after another from ``random.Random(seed)``.

    The ControlNet's training script draws its training people this way, from its training seed.
    Used by helpers.control.pose_control, helpers.training.train_controlnet (no notebook calls it).
    """
    rng = random.Random(seed)
    return [random_person(rng) for _ in range(count)]


def controlnet_training(controlnet: str | Path | None = None) -> dict:
    """Return the configuration a ControlNet was trained with, read from ``training.json`` beside it.

    ``controlnet`` is the model's folder, the bundled one by default; the training script
    (``helpers.training.train_controlnet``) writes the file there with the model.
    Used by helpers.control.pose_control (no notebook calls it).
    """
    from helpers.core.config import BUNDLED_CONTROLNET_DIR

    path = Path(controlnet if controlnet is not None else BUNDLED_CONTROLNET_DIR) / "training.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it is written with the ControlNet by "
                                "`python -m helpers.training.train_controlnet`.")
    return json.loads(path.read_text())["config"]


def unseen_people(n: int, training_people: int | None = None, training_seed: int | None = None,
                  seed: int = EVAL_SEED, *, controlnet: str | Path | None = None) -> list[Person]:
    """Return ``n`` random people whose poses are not among the ControlNet's training poses.

    The training poses are redrawn as the training script drew them (``people_from_seed``),
    with the number of people and the seed of its training configuration: the ``training.json``
    saved beside the ControlNet in folder ``controlnet`` (the bundled one by default), unless
    ``training_people`` or ``training_seed`` is given. So "unseen" is checked, not assumed,
    and a ControlNet retrained with other numbers gets its own unseen people.
    Used in 08_controlnet.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    if training_people is None or training_seed is None:
        config = controlnet_training(controlnet)
        training_people = config["people"] if training_people is None else training_people
        training_seed = config["seed"] if training_seed is None else training_seed
    seen = {_pose_key(person) for person in people_from_seed(training_people, training_seed)}
    rng = random.Random(seed)
    people: list[Person] = []
    while len(people) < n:
        person = random_person(rng)
        if _pose_key(person) not in seen:
            people.append(person)
    return people


def pose_guides(people: Sequence[Person], size: int = 64) -> list:
    """Return the OpenPose guide picture of each person's pose.

    Used by helpers.control.pose_control (no notebook calls it).
    """
    return [render_pose_guide(keypoints(p.pose), size) for p in people]


def controlled_pictures(pipe, people: Sequence[Person], *, scale: float = 1.0,
                        steps: int = RECOMMENDED_STEPS, guidance: float = RECOMMENDED_GUIDANCE,
                        seed: int = 0, batch: int = 32) -> list:
    """Return one picture per person from its caption, with its pose guide when ``pipe`` has a ControlNet.

    Picture ``i`` uses seed ``seed + i`` with or without the ControlNet, so the two can be
    compared picture by picture.
    Used in 08_controlnet.
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

    Used in 08_controlnet.
    """
    from helpers.shapes.reader import adherence, pose_iou

    if len(people) != len(images):
        raise ValueError(f"{len(people)} people but {len(images)} images")
    ious = [pose_iou(image, keypoints(p.pose)) for p, image in zip(people, images, strict=True)]
    scores = adherence([person_caption(p) for p in people], images)
    return {"pose_iou": float(np.mean(ious)), "iou_at_least_0.5": float(np.mean(np.array(ious) >= 0.5)),
            "color": scores["color"], "background": scores["background"], "n": len(people)}
