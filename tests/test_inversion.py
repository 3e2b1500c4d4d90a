"""DDIM inversion (09): the bundled mini model redraws a picture from the noise it was inverted to."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import reader, shapes
from helpers.editing import inversion


@pytest.fixture(scope="module")
def mini():
    import helpers

    pipe = helpers.load_pipeline("text2img", model="mini-sd", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_round_trip_returns_the_picture(mini):
    tasks = inversion.edit_tasks(4, seed=3)
    sources = inversion.task_pictures(tasks)
    captions = [t.caption() for t in tasks]
    noise = inversion.ddim_invert(mini, sources, captions, steps=20)
    assert noise.shape == (4, mini.vae.config.latent_channels, 8, 8)
    back = inversion.regenerate(mini, noise, captions, steps=20)
    vae = inversion.vae_round_trip(mini, sources)
    error = np.mean([inversion.pixel_error(a, b) for a, b in zip(sources, back, strict=True)])
    vae_error = np.mean([inversion.pixel_error(a, b) for a, b in zip(sources, vae, strict=True)])
    assert error < 1.5 * vae_error  # hardly worse than the VAE alone
    assert all(reader.read(a) == reader.read(b) for a, b in zip(sources, back, strict=True))
    assert type(mini.scheduler).__name__ == "DDIMScheduler"


def test_regenerate_puts_the_scheduler_back(mini):
    from diffusers import EulerDiscreteScheduler

    original = mini.scheduler
    mini.scheduler = EulerDiscreteScheduler.from_config(original.config)
    try:
        task = inversion.edit_tasks(1)[0]
        noise = inversion.ddim_invert(mini, inversion.task_pictures([task]), [task.caption()], steps=5)
        inversion.regenerate(mini, noise, [task.caption()], steps=5)
        assert type(mini.scheduler).__name__ == "EulerDiscreteScheduler"
    finally:
        mini.scheduler = original


def test_guided_inversion_runs(mini):
    task = inversion.edit_tasks(1, seed=5)[0]
    pictures = inversion.task_pictures([task])
    plain = inversion.ddim_invert(mini, pictures, [task.caption()], steps=5)
    guided = inversion.ddim_invert(mini, pictures, [task.caption()], steps=5, guidance=3.0)
    assert plain.shape == guided.shape and not np.allclose(plain.numpy(), guided.numpy())


def test_mismatched_inputs_are_refused(mini):
    pictures = inversion.task_pictures(inversion.edit_tasks(2))
    with pytest.raises(ValueError, match="one prompt per picture"):
        inversion.ddim_invert(mini, pictures, ["a red circle"])
    with pytest.raises(ValueError, match="at least one"):
        inversion.ddim_invert(mini, [], [])
    with pytest.raises(ValueError, match="starting noises"):
        inversion.regenerate(mini, inversion.encode_pictures(mini, pictures), ["a red circle"])


def test_edit_tasks_change_one_word():
    tasks = inversion.edit_tasks(40, seed=1)
    assert [t.attribute for t in tasks[:4]] == ["color", "shape", "color", "shape"]
    for t in tasks:
        old = getattr(t.source, t.attribute)
        assert t.new_value != old
        if t.attribute == "color":
            assert t.new_value != t.source.background
        assert t.caption().split() != t.edited_caption().split()
        assert sum(a != b for a, b in zip(t.caption().split(), t.edited_caption().split(), strict=True)) == 1
    assert inversion.edit_tasks(40, seed=1) == tasks
    with pytest.raises(ValueError):
        inversion.edit_tasks(0)


def test_edit_scores_on_rendered_answers():
    tasks = inversion.edit_tasks(10, seed=2)
    perfect = [shapes.render(shapes.Shape(**t.expected())) for t in tasks]
    scores = inversion.edit_scores(tasks, perfect)
    assert scores["success"] == scores["kept"] == scores["both"] == 1.0
    unchanged = inversion.edit_scores(tasks, inversion.task_pictures(tasks))
    assert unchanged["success"] == 0.0 and unchanged["kept"] == 1.0 and unchanged["both"] == 0.0
    with pytest.raises(ValueError):
        inversion.edit_scores(tasks, perfect[:3])
