"""helpers.shapes.points: the 2-D Shapes world of notebook 11."""

from __future__ import annotations

import pytest
import torch

from helpers.shapes.points import distance_to_outlines, outline_points, path_straightness


def test_points_lie_on_the_outlines_and_are_seeded():
    points = outline_points(900, seed=4)
    assert points.shape == (900, 2)
    assert distance_to_outlines(points) < 0.005
    assert torch.equal(points, outline_points(900, seed=4))
    assert not torch.equal(points, outline_points(900, seed=5))
    assert distance_to_outlines(torch.zeros(3, 2) + 5) > 2


def test_straightness_of_straight_and_bent_paths():
    straight = torch.stack([torch.zeros(4, 2), torch.ones(4, 2), 2 * torch.ones(4, 2)])
    assert path_straightness(straight) == pytest.approx(1.0)
    bent = torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]], [[1.0, 1.0]]])
    assert path_straightness(bent) == pytest.approx(2 ** 0.5 / 2)
    pictures = torch.randn(5, 3, 2, 4, 4)  # (steps + 1, n, C, H, W): flattened per point
    assert 0 < path_straightness(pictures) <= 1


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_outline_points_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="positive whole number"):
        outline_points(bad)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        distance_to_outlines(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="at least two positions"):
        path_straightness(torch.zeros(1, 4, 2))
