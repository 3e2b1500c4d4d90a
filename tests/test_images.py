"""to_pil / image_grid / show_images on every accepted input type, and each error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import image_grid, show_images, to_pil

RED = (255, 0, 0)


def _red_inputs():
    """The same 4x6 red picture in every accepted form (HWC, CHW, ranges, batches)."""
    hwc = np.zeros((4, 6, 3), dtype=np.uint8)
    hwc[..., 0] = 255
    unit = hwc.astype(np.float32) / 255
    return {
        "pil": Image.fromarray(hwc),
        "uint8 HWC": hwc,
        "uint8 CHW": np.transpose(hwc, (2, 0, 1)),
        "float HWC [0,1]": unit,
        "float CHW [-1,1]": np.transpose(unit * 2 - 1, (2, 0, 1)),
        "int64 HWC": hwc.astype(np.int64),
        "tensor CHW [0,1]": torch.from_numpy(unit).permute(2, 0, 1),
        "tensor CHW [-1,1]": torch.from_numpy(unit).permute(2, 0, 1) * 2 - 1,
        "tensor BCHW B=1": torch.from_numpy(unit).permute(2, 0, 1)[None] * 2 - 1,
    }


@pytest.mark.parametrize("name", list(_red_inputs()))
def test_to_pil_reads_every_form_the_same(name):
    image = to_pil(_red_inputs()[name])
    assert image.size == (6, 4) and image.mode == "RGB"
    assert image.getpixel((0, 0)) == RED and image.getpixel((5, 3)) == RED


def test_to_pil_values_map_correctly():
    ramp = torch.tensor([-1.0, 0.0, 1.0]).view(1, 1, 3).expand(3, 1, 3)  # CHW, values in [-1, 1]
    assert [to_pil(ramp).getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]
    gray = to_pil(np.array([[0.0, 0.5], [1.0, 0.25]]))
    assert gray.mode == "L" and list(gray.getdata()) == [0, 128, 255, 64]
    rgba = to_pil(np.full((2, 2, 4), 7, dtype=np.uint8))
    assert rgba.mode == "RGBA" and rgba.getpixel((1, 1)) == (7, 7, 7, 7)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 2, 2, 2, 3)), "dimensions"),
        (np.zeros((5, 5, 5)), "channel axis"),
        (np.full((4, 4, 3), 2.0), r"\[0, 1\] or \[-1, 1\]"),
        (np.full((4, 4, 3), -1.5), r"\[0, 1\] or \[-1, 1\]"),
        (np.full((4, 4, 3), 300, dtype=np.int32), "0-255"),
        (np.full((4, 4, 3), np.nan), "NaN"),
        (np.zeros((0, 4, 3)), "empty"),
        (torch.zeros(2, 3, 4, 4), "batch of 2"),
        (torch.zeros(3, 4, 4, dtype=torch.complex64), "dtype"),
        ("a picture", "cannot make an image from str"),
        ([[0, 1]], "cannot make an image from list"),
    ],
)
def test_to_pil_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        to_pil(bad)


def test_image_grid_layout_and_titles():
    images = [np.full((10, 20, 3), v, dtype=np.uint8) for v in (0, 60, 120, 180, 240)]
    plain = image_grid(images, cols=2)
    assert plain.size == (40, 30)  # 2 columns x 3 rows of 20x10 cells
    assert plain.getpixel((25, 5)) == (60, 60, 60) and plain.getpixel((5, 25)) == (240, 240, 240)
    assert plain.getpixel((25, 25)) == (255, 255, 255)  # the empty sixth cell is white
    titled = image_grid(images, cols=2, titles=["a", "b", "c", "d", "e"])
    band = titled.height // 3 - 10
    assert band > 5 and titled.width == 40
    # The title band under the first picture has dark text pixels in it.
    strip = np.asarray(titled)[10 : 10 + band, 0:20]
    assert strip.min() < 100


def test_image_grid_accepts_batches_and_defaults_to_four_columns():
    batch = torch.rand(6, 3, 8, 8) * 2 - 1
    grid = image_grid(batch)
    assert grid.size == (32, 16)
    assert image_grid(np.zeros((3, 8, 8, 3), dtype=np.uint8)).size == (24, 8)
    assert image_grid(Image.new("RGB", (5, 7))).size == (5, 7)


def test_image_grid_centres_smaller_images():
    grid = image_grid([np.zeros((8, 8, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)], cols=2)
    assert grid.size == (16, 8)
    assert grid.getpixel((9, 0)) == (255, 255, 255) and grid.getpixel((12, 4)) == (0, 0, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"images": []}, "empty"),
        ({"images": [np.zeros((4, 4, 3))] * 2, "titles": ["one"]}, "1 titles for 2 images"),
        ({"images": [np.zeros((4, 4, 3))], "titles": "one"}, "list of strings"),
        ({"images": [np.zeros((4, 4, 3))], "cols": 0}, "cols"),
    ],
)
def test_grid_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        image_grid(**kwargs)
    with pytest.raises(ValueError, match=message):
        show_images(**kwargs)


def test_show_images_returns_a_figure():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = len(plt.get_fignums())
    shown = show_images(torch.rand(3, 1, 8, 8), cols=2, titles=["x", "y", "z"], size=2.0)
    fig = shown.figure
    assert isinstance(fig, Figure)
    assert tuple(shown.get_size_inches()) == (4.0, 4.0)
    axes = fig.get_axes()
    assert len(axes) == 4 and [ax.get_title() for ax in axes[:3]] == ["x", "y", "z"]
    assert len(axes[3].images) == 0 and len(axes[0].images) == 1
    assert len(plt.get_fignums()) == before  # closed in pyplot: no double display
    with pytest.raises(ValueError, match="size"):
        show_images([np.zeros((4, 4))], size=0)


def test_show_images_displays_where_it_is_called_and_only_once(monkeypatch):
    from helpers.core import notebook

    shown = []
    monkeypatch.setattr(notebook, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    result = show_images([np.zeros((4, 4))] * 2)
    assert shown == [result.figure]  # on screen at the call, not only as a cell's last value
    assert result._ipython_display_() is None  # a cell ending in the call shows nothing more
    monkeypatch.setattr(notebook, "in_notebook", lambda: False)
    show_images([np.zeros((4, 4))])
    assert len(shown) == 1  # outside a notebook nothing is displayed


def test_titles_are_wrapped_to_the_picture_not_cut():
    from helpers.core.images import wrap_title

    long = "a large red circle at the top left on a blue background"
    shown = show_images([np.zeros((4, 4))], titles=[long], size=2.0)
    title = shown.figure.get_axes()[0].get_title()
    assert title.replace("\n", " ") == long and title.count("\n") >= 2
    assert all(len(line) <= 18 for line in title.split("\n"))
    assert wrap_title("빨간 큰 원이 왼쪽 위에", 10) == "빨간 큰\n원이 왼쪽\n위에"  # Hangul is two columns
    assert wrap_title("abcdefghij", 4) == "abcd\nefgh\nij"
    assert wrap_title("two\nlines", 20) == "two\nlines"
    with pytest.raises(ValueError, match="width"):
        wrap_title("x", 0)
