"""check_size names the nearest valid sizes; generate() checks sizes before it runs."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import check_size, generate


def test_valid_sizes_pass_through():
    assert check_size(512, 768) == (512, 768)
    assert check_size(8, 16) == (8, 16)


@pytest.mark.parametrize(
    "width, height, message",
    [
        (513, 512, "width=513 .* nearest valid width: 512 or 520"),
        (512, 100, "height=100 .* nearest valid height: 96 or 104"),
        (4, 64, "width=4 .* nearest valid width: 8"),
        (0, 64, "width=0 .* nearest valid width: 8"),
        (-16, 64, "width=-16"),
        (64.0, 64, "width must be an int"),
    ],
)
def test_bad_sizes_name_the_nearest_valid_ones(width, height, message):
    with pytest.raises(ValueError, match=message):
        check_size(width, height)


def test_generate_uses_seed_and_size(tiny_pipeline_dir):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir)
    with pytest.raises(ValueError, match="nearest valid width: 16 or 24"):
        generate(pipe, "a circle", width=20, steps=1)
    a = generate(pipe, "a circle", steps=2, seed=1, width=24, height=16)
    b = generate(pipe, "a circle", steps=2, seed=1, width=24, height=16)
    c = generate(pipe, "a circle", steps=2, seed=2, width=24, height=16)
    assert a[0].size == (24, 16)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]))
    assert not np.array_equal(np.asarray(a[0]), np.asarray(c[0]))


def test_each_picture_in_a_list_has_its_own_seed(tiny_pipeline_dir):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir)
    both = generate(pipe, ["a circle", "a square"], steps=2, seed=3, batch=2)
    second_alone = generate(pipe, ["a square"], steps=2, seed=4)
    first_alone = generate(pipe, "a circle", steps=2, seed=3)
    assert len(both) == 2
    assert np.abs(np.asarray(both[1], int) - np.asarray(second_alone[0], int)).max() <= 2
    assert np.abs(np.asarray(both[0], int) - np.asarray(first_alone[0], int)).max() <= 2
    with pytest.raises(ValueError, match="2 prompts but 1 negative prompts"):
        generate(pipe, ["a circle", "a square"], steps=1, negative_prompt=["red"])
    with pytest.raises(ValueError, match="batch must be at least 1"):
        generate(pipe, ["a circle"], steps=1, batch=0)
