"""A torch Dataset of Shapes-world pictures with captions, attributes and keypoints."""

from __future__ import annotations

import random

import torch
from torch.utils.data import Dataset

from helpers.core.latents import image_to_tensor
from helpers.shapes import Shape, all_shapes, caption, render
from helpers.shapes.captions import random_caption
from helpers.shapes.people import Person, keypoints, person_caption, random_person, render_person

NO_KEYPOINTS = torch.full((18, 2), float("nan"))


class ShapesDataset(Dataset):
    """Every one-object picture plus ``people`` random people, each with a caption.

    Yields ``(image, caption, attributes, keypoints)``: a 3xHxW tensor in [-1, 1],
    a caption (full, partial or empty, drawn at random each time unless
    ``captions="full"``; a share ``korean_share`` of the shapes' random captions in
    Korean), the attributes as a dict of strings (people have shape
    "person" and empty size and position) and an (18, 2) keypoint tensor (NaN for
    shapes). Pictures are rendered once, at construction.
    Used in 01_gan_vae_recap, 03_reverse_diffusion, 11_flow_matching.
    """

    def __init__(self, size: int = 64, people: int = 0, shapes: list[Shape] | None = None,
                 captions: str = "random", empty_prob: float = 0.1, full_prob: float = 0.5,
                 seed: int = 0, korean_share: float = 0.0) -> None:
        if captions not in ("random", "full"):
            raise ValueError(f"captions must be 'random' or 'full', got {captions!r}")
        rng = random.Random(seed)
        self.items: list[Shape | Person] = list(all_shapes() if shapes is None else shapes)
        self.n_shapes = len(self.items)
        self.items += [random_person(rng) for _ in range(people)]
        self.n_people = people
        self.size = size
        self.captions = captions
        self.empty_prob, self.full_prob = empty_prob, full_prob
        self.korean_share = korean_share
        self.rng = random.Random(seed + 1)
        self.images = torch.stack([image_to_tensor(self.render(i)) for i in range(len(self))])

    def __len__(self) -> int:
        return len(self.items)

    def render(self, index: int):
        """Return the PIL picture of item ``index``."""
        item = self.items[index]
        if isinstance(item, Person):
            return render_person(item, self.size)
        return render(item, self.size)

    def is_person(self, index: int) -> bool:
        """Return True when item ``index`` is a person."""
        return isinstance(self.items[index], Person)

    def attributes(self, index: int) -> dict[str, str]:
        """Return item ``index``'s attributes (people: shape "person", no size or position)."""
        item = self.items[index]
        if isinstance(item, Person):
            return {"shape": "person", "size": "", "color": item.color, "position": "",
                    "background": item.background}
        return item.as_dict()

    def caption(self, index: int) -> str:
        """Return a caption for item ``index``: full, or random as configured."""
        item = self.items[index]
        if self.captions == "full":
            return person_caption(item) if isinstance(item, Person) else caption(item)
        return random_caption(item, self.rng, self.empty_prob, self.full_prob,
                              self.korean_share)

    def keypoints(self, index: int) -> torch.Tensor:
        """Return item ``index``'s (18, 2) keypoints, or NaNs for a shape."""
        item = self.items[index]
        if isinstance(item, Person):
            return torch.tensor(keypoints(item.pose), dtype=torch.float32)
        return NO_KEYPOINTS.clone()

    def __getitem__(self, index: int):
        return self.images[index], self.caption(index), self.attributes(index), \
            self.keypoints(index)
