"""Prompt grids as practitioners use them: a prompt matrix and an X-Y grid of pictures."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

from PIL import Image

AXES = ("seed", "guidance", "steps", "negative_prompt")


def prompt_matrix(subject: str, parts: Sequence[str], sep: str = " ") -> list[str]:
    """Return every prompt made of ``subject`` plus a subset of ``parts``, kept in their order.

    ``prompt_matrix("a cat", ["in snow", "oil painting"], sep=", ")`` gives
    ``["a cat", "a cat, in snow", "a cat, oil painting", "a cat, in snow, oil painting"]``:
    2**len(parts) prompts, fewer parts first.
    Used in 06_prompt_engineering.
    """
    prompts = []
    for k in range(len(parts) + 1):
        for chosen in combinations(parts, k):
            prompts.append(sep.join([subject, *chosen]))
    return prompts


def xy_grid(pipe: Any, prompts: Sequence[str], axis: str, values: Sequence[Any], *,
            steps: int = 20, guidance: float = 7.5, seed: int = 0,
            negative_prompt: str | None = None,
            min_side: int = 128) -> tuple[Image.Image, list[list[Image.Image]]]:
    """Return ``(grid picture, pictures[row][column])``: one row per prompt, one column per value.

    ``axis`` names what the columns change: "seed", "guidance", "steps" or "negative_prompt";
    everything else stays at the keyword arguments' values, so every cell is one picture from
    ``helpers.generate`` with its own fixed seed and can be reproduced alone. Each cell is
    titled ``"row | axis=value"`` (rows count from 0, in the order of ``prompts``); pictures
    smaller than ``min_side`` are enlarged in the grid only (nearest neighbour).
    Used in 06_prompt_engineering.
    """
    from helpers.core.generate import generate
    from helpers.core.images import image_grid

    if axis not in AXES:
        raise ValueError(f"unknown axis {axis!r}; choose one of {', '.join(AXES)}.")
    if not prompts or not values:
        raise ValueError("xy_grid needs at least one prompt and one value")
    rows: list[list[Image.Image]] = []
    for prompt in prompts:
        row = []
        for value in values:
            settings = {"steps": steps, "guidance": guidance, "seed": seed,
                        "negative_prompt": negative_prompt, axis: value}
            row.append(generate(pipe, prompt, **settings)[0])
        rows.append(row)
    cells = [im for row in rows for im in row]
    if cells[0].width < min_side:
        factor = -(-min_side // cells[0].width)
        cells = [im.resize((im.width * factor, im.height * factor), Image.Resampling.NEAREST)
                 for im in cells]
    titles = [f"{r} | {axis}={value}" for r in range(len(prompts)) for value in values]
    grid = image_grid(cells, cols=len(values), titles=titles)
    return grid, rows
