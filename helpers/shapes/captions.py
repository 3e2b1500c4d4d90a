"""Random captions of the Shapes world: the one sampler the lessons, benchmarks and training share.

``random_captions`` draws full one-object captions (05 and 10 prompt with them, the benchmark
measures with them); ``random_caption`` words one picture's caption at random, full, partial or
empty, as both training scripts caption their pictures.
"""

from __future__ import annotations

import random

from helpers.shapes import Shape, caption, random_partial, random_shape
from helpers.shapes.korean import korean_caption, random_korean_partial
from helpers.shapes.people import Person, person_caption

PERSON_ATTRIBUTES: tuple[str, ...] = ("color", "background")


def random_captions(n: int, seed: int = 1234) -> list[str]:
    """Return ``n`` full one-object captions drawn at random with ``seed``.

    Used in 05_running_stable_diffusion, 10_responsible_generation, 11_flow_matching.
    """
    rng = random.Random(seed)
    return [caption(random_shape(rng)) for _ in range(n)]


def random_korean_captions(n: int, seed: int = 1234) -> list[str]:
    """Return the Korean captions of the same ``n`` objects ``random_captions(n, seed)`` describes.

    Used by helpers.training.{evaluate, evaluate_sd3} (no notebook calls it).
    """
    rng = random.Random(seed)
    return [korean_caption(random_shape(rng)) for _ in range(n)]


def random_caption(item: Shape | Person, rng: random.Random, empty_prob: float,
                   full_prob: float, korean_share: float = 0.0) -> str:
    """Return a caption of ``item`` drawn with ``rng``: empty, full or partial.

    Empty with probability ``empty_prob`` (for classifier-free guidance), full with
    ``full_prob``, otherwise partial: each optional attribute of a shape (``random_partial``),
    and a person's colour and background, kept with probability 1/2. A shape's caption is
    in Korean (``helpers.shapes.korean``) with probability ``korean_share``; people's stay English.
    Used by helpers.shapes.dataset, helpers.training.train_controlnet (no notebook calls it).
    """
    roll = rng.random()
    if roll < empty_prob:
        return ""
    full = roll < empty_prob + full_prob
    if isinstance(item, Person):
        keep = PERSON_ATTRIBUTES if full else tuple(
            name for name in PERSON_ATTRIBUTES if rng.random() < 0.5)
        return person_caption(item, keep)
    if korean_share and rng.random() < korean_share:
        return korean_caption(item) if full else random_korean_partial(item, rng)[0]
    return caption(item) if full else random_partial(item, rng)[0]
