"""How close generated pictures are to clean renders: the measure behind the model card's table."""

import numpy as np
import pytest
from PIL import Image

from helpers.shapes import Shape, render
from helpers.training.fidelity import (
    fidelity_report,
    pixel_error,
    round_trip_error,
    training_picture_error,
)


def test_pixel_error_is_the_mean_absolute_difference_on_the_0_255_scale():
    black = Image.new("RGB", (4, 4), (0, 0, 0))
    grey = Image.new("RGB", (4, 4), (10, 20, 30))
    assert pixel_error(black, grey) == pytest.approx(20.0)
    assert pixel_error(grey, grey) == 0.0
    with pytest.raises(ValueError, match="different sizes"):
        pixel_error(black, Image.new("RGB", (8, 8)))


def test_the_floor_is_zero_and_a_render_is_its_own_reference():
    assert training_picture_error(n=4) == 0.0
    item = Shape("circle", "large", "red", "center", "blue")
    assert pixel_error(render(item, 64), render(item, 64)) == 0.0


def test_the_report_measures_pictures_read_right_and_the_vae_round_trip(bundled_pipe):
    pipe = bundled_pipe
    report = fidelity_report(pipe, n=4, steps=4)
    assert report["captions"] == 4 and 0 <= report["read_right"] <= 4
    assert report["vae_round_trip"] == pytest.approx(round(round_trip_error(pipe.vae), 2))
    assert 0 < report["vae_round_trip"] < 40
    if report["read_right"]:
        assert 0 < report["generated_vs_render"] < 60
    else:
        assert np.isnan(report["generated_vs_render"])
