"""The Shapes world in two dimensions: points on the outlines of a circle, a square and a triangle.

Notebook 11 learns flow matching first on these points, where every path from noise to data
can be drawn. Three separate outlines make the data multimodal (a point of noise must choose one
of them), which is what bends the paths a model learns.
"""

from __future__ import annotations

import math

import torch

#: Where each outline sits (centre x, centre y) and its size (radius or half-side), in data units.
OUTLINES: dict[str, tuple[float, float, float]] = {
    "circle": (-1.3, 0.0, 0.55),
    "square": (0.0, 0.0, 0.5),
    "triangle": (1.3, -0.1, 0.65),
}


def _on_polygon(corners: list[tuple[float, float]], u: torch.Tensor) -> torch.Tensor:
    """Return points at fractions ``u`` of the way round the closed polygon ``corners``."""
    sides = len(corners)
    position = u * sides
    side = position.floor().long().clamp(max=sides - 1)
    along = (position - side).unsqueeze(1)
    start = torch.tensor(corners)[side]
    end = torch.tensor(corners)[(side + 1) % sides]
    return start + along * (end - start)


def outline_points(n: int, seed: int = 0) -> torch.Tensor:
    """Return an (n, 2) float tensor of points drawn evenly from the three outlines (a third each).

    Used in 11_flow_matching.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive whole number of points, got {n!r}")
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(0, 3, (n,), generator=generator)
    u = torch.rand(n, generator=generator)
    points = torch.empty(n, 2)
    for index, (name, (cx, cy, size)) in enumerate(OUTLINES.items()):
        chosen = which == index
        if name == "circle":
            angle = 2 * math.pi * u[chosen]
            points[chosen] = torch.stack([cx + size * angle.cos(), cy + size * angle.sin()], dim=1)
        elif name == "square":
            corners = [(cx - size, cy - size), (cx + size, cy - size), (cx + size, cy + size),
                       (cx - size, cy + size)]
            points[chosen] = _on_polygon(corners, u[chosen])
        else:
            corners = [(cx + size * math.cos(a), cy + size * math.sin(a))
                       for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)]
            points[chosen] = _on_polygon(corners, u[chosen])
    return points


def distance_to_outlines(points: torch.Tensor, reference: torch.Tensor | None = None) -> float:
    """Return the mean distance from each point to the nearest of the outlines (0: all on them).

    ``reference`` is a dense sample of the outlines (default 6000 points, seed 123); the distance to
    its nearest point is the distance to the outline to within about 0.003.
    Used in 11_flow_matching.
    """
    points = torch.as_tensor(points, dtype=torch.float32)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must be an (n, 2) tensor with n >= 1, got shape {tuple(points.shape)}")
    reference = outline_points(6000, seed=123) if reference is None else reference
    return float(torch.cdist(points, reference).amin(dim=1).mean())


def path_straightness(path: torch.Tensor) -> float:
    """Return the mean over points of |end - start| / (length along the path); 1 means straight lines.

    ``path`` is (steps + 1, n, d): the positions of n points (any dimension d, pictures flattened)
    after each sampling step.
    Used in 11_flow_matching.
    """
    path = torch.as_tensor(path, dtype=torch.float32).flatten(2)
    if path.ndim != 3 or len(path) < 2:
        raise ValueError("path must hold at least two positions per point: shape (steps + 1, n, d)")
    length = (path[1:] - path[:-1]).norm(dim=2).sum(dim=0)
    chord = (path[-1] - path[0]).norm(dim=1)
    return float((chord / length.clamp(min=1e-12)).mean())
