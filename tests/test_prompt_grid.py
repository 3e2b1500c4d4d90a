"""prompt_matrix and xy_grid: the right prompts, and cells that equal single generate() calls."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import build_tiny_pipeline
from helpers.core.generate import generate
from helpers.prompting.prompt_grid import prompt_matrix, xy_grid


def test_prompt_matrix_keeps_order_and_makes_every_subset():
    assert prompt_matrix("a cat", ["in snow", "oil painting"], sep=", ") == [
        "a cat", "a cat, in snow", "a cat, oil painting", "a cat, in snow, oil painting"]
    assert prompt_matrix("a circle", []) == ["a circle"]
    assert len(prompt_matrix("x", list("abcd"))) == 16


@pytest.fixture(scope="module")
def pipe():
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_xy_grid_cells_are_single_generate_calls(pipe):
    grid, rows = xy_grid(pipe, ["a red square", "a blue circle"], "guidance", [1.0, 5.0],
                         steps=2, seed=3)
    assert len(rows) == 2 and all(len(row) == 2 for row in rows)
    alone = generate(pipe, "a blue circle", steps=2, guidance=5.0, seed=3)[0]
    assert np.array_equal(np.asarray(rows[1][1]), np.asarray(alone))
    assert not np.array_equal(np.asarray(rows[1][0]), np.asarray(rows[1][1]))
    assert grid.width == 2 * 128 and grid.height > 2 * 128  # 16 px cells enlarged 8x, titles below
    small, _ = xy_grid(pipe, ["a red square"], "guidance", [1.0], steps=2, min_side=8)
    assert small.width == 16


def test_xy_grid_seed_axis_and_bad_axis(pipe):
    _, rows = xy_grid(pipe, ["a red square"], "seed", [7, 8], steps=2, guidance=3.0)
    again = generate(pipe, "a red square", steps=2, guidance=3.0, seed=8)[0]
    assert np.array_equal(np.asarray(rows[0][1]), np.asarray(again))
    with pytest.raises(ValueError, match="unknown axis"):
        xy_grid(pipe, ["a red square"], "colour", [1])
