"""The playground: its plain function reproduces generate(), and its button shows that picture."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import build_tiny_pipeline
from helpers.classroom.playground import make_picture, playground
from helpers.core.generate import generate


@pytest.fixture(scope="module")
def pipe():
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_make_picture_is_generate_with_its_settings(pipe):
    picture, seconds = make_picture(pipe, "a red square", "a blue circle", seed=5, steps=2, guidance=4.0)
    expected = generate(pipe, "a red square", steps=2, guidance=4.0, seed=5,
                        negative_prompt="a blue circle")[0]
    assert seconds > 0 and np.array_equal(np.asarray(picture), np.asarray(expected))
    plain, _ = make_picture(pipe, "a red square", "", seed=5, steps=2, guidance=4.0)
    assert np.array_equal(np.asarray(plain),
                          np.asarray(generate(pipe, "a red square", steps=2, guidance=4.0, seed=5)[0]))


def test_button_click_shows_the_picture_and_its_time(pipe):
    box = playground(pipe, prompt="a red square", steps=2, guidance=4.0, show_size=32)
    controls = box.controls
    controls["seed"].value = 5
    assert controls["picture"].value == b""
    controls["button"].click()
    shown = Image.open(io.BytesIO(controls["picture"].value))
    expected = generate(pipe, "a red square", steps=2, guidance=4.0, seed=5)[0].resize((32, 32), Image.Resampling.NEAREST)
    assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(expected))
    assert controls["status"].value.endswith("s, seed 5")
