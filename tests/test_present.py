"""Presenter mode: on changes how things are shown (bigger, quieter), off puts everything back."""

from __future__ import annotations

import io
import logging
import warnings

import matplotlib
import pytest
from PIL import Image

import helpers
from helpers.core import presenter


@pytest.fixture
def shell():
    """A real IPython shell, so present() registers its picture formatter as in a notebook."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    helpers.present(False)
    InteractiveShell.clear_instance()


def snapshot(shell) -> dict:
    from diffusers.utils import logging as dl
    from transformers.utils import logging as tl

    return {
        "rc": {k: matplotlib.rcParams[k] for k in presenter.PROJECTOR_RC},
        "warnings": list(warnings.filters),
        "levels": {n: logging.getLogger(n).level for n in presenter.QUIET_LOGGERS},
        "verbosity": (dl.get_verbosity(), tl.get_verbosity()),
        "bars": (dl.is_progress_bar_enabled(), tl.is_progress_bar_enabled()),
        "png": shell.display_formatter.formatters["image/png"].type_printers.get(Image.Image),
    }


def test_off_by_default():
    assert presenter.presenting() is False


def test_on_makes_things_big_and_quiet_and_off_restores_all(shell):
    from diffusers.utils import logging as dl

    before = snapshot(shell)
    assert helpers.present() is True and presenter.presenting()
    assert matplotlib.rcParams["font.size"] == 16 > before["rc"]["font.size"]
    assert dl.get_verbosity() == logging.ERROR and not dl.is_progress_bar_enabled()
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn("distracting", UserWarning, stacklevel=2)
    assert caught == []
    picture = Image.new("RGB", (64, 64), "red")
    data = shell.display_formatter.format(picture)[0]["image/png"]
    assert Image.open(io.BytesIO(data)).size == (512, 512)  # shown 8x, the object is untouched
    assert picture.size == (64, 64)
    assert helpers.present() is True  # twice is harmless
    assert helpers.present(False) is False
    assert snapshot(shell) == before
    data = shell.display_formatter.format(picture)[0]["image/png"]
    assert Image.open(io.BytesIO(data)).size == (64, 64)


def test_projector_zoom_numbers():
    assert presenter.projector_zoom(64, 64) == 8
    assert presenter.projector_zoom(8 * 64, 64 + 12) == 2  # a row of eight 64 px pictures
    assert presenter.projector_zoom(512, 512) == 1
    assert presenter.projector_zoom(4000, 3000) == 1
    with pytest.raises(ValueError, match="positive size"):
        presenter.projector_zoom(0, 10)
    with pytest.raises(ValueError, match="True or False"):
        helpers.present("on")


def test_show_images_and_checker_boxes_grow(shell, monkeypatch):
    from helpers.checks import api

    small = helpers.show_images([Image.new("RGB", (8, 8))] * 2).get_size_inches()
    helpers.present()
    big = helpers.show_images([Image.new("RGB", (8, 8))] * 2).get_size_inches()
    assert tuple(big) == (9.0, 4.5) and tuple(small) == (6.0, 3.0)
    shown = []
    monkeypatch.setattr(api, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    api.correct("크게")
    assert "font-size:1.6em" in shown[0]["text/html"]


def test_generate_hides_the_step_bar_only_while_presenting(tiny_pipeline_dir, capfd, shell):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_pipeline_dir)
    helpers.generate(pipe, "a circle", steps=2, cache=False)
    assert "2/2" in capfd.readouterr().err
    helpers.present()
    helpers.generate(pipe, "a circle", steps=2, cache=False)
    assert "2/2" not in capfd.readouterr().err
    assert pipe._progress_bar_config == {}  # the pipeline's own setting is put back
