"""Turning tensors and arrays into pictures: ``to_pil``, ``image_grid`` and ``show_images``."""

from __future__ import annotations

import math
import unicodedata
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from helpers.core.notebook import show_now
from helpers.core.presenter import presenting

_TOLERANCE = 1e-3  # float rounding slack on the [0, 1] and [-1, 1] bounds
_CHANNELS = (1, 3, 4)


def _float_to_uint8(array: np.ndarray) -> np.ndarray:
    """Map a float array in [0, 1] or [-1, 1] to uint8; anything else is an error."""
    if not np.isfinite(array).all():
        raise ValueError("image contains NaN or infinity.")
    low, high = float(array.min()), float(array.max())
    if low >= -_TOLERANCE and high <= 1 + _TOLERANCE:
        scaled = array
    elif low >= -1 - _TOLERANCE and high <= 1 + _TOLERANCE:
        scaled = (array + 1) / 2
    else:
        raise ValueError(
            f"float image values must lie in [0, 1] or [-1, 1]; got [{low:.3g}, {high:.3g}]. "
            "Rescale it first (for example (x - x.min()) / (x.max() - x.min()))."
        )
    return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8)


def _to_hwc(array: np.ndarray, channels_first: bool) -> np.ndarray:
    if array.ndim == 2:
        return array[:, :, None]
    if array.ndim != 3:
        raise ValueError(
            f"an image must have 2 (HW) or 3 (HWC/CHW) dimensions, got shape {tuple(array.shape)}."
        )
    if channels_first and array.shape[0] in _CHANNELS:
        return np.transpose(array, (1, 2, 0))
    if array.shape[-1] in _CHANNELS:
        return array
    if array.shape[0] in _CHANNELS:
        return np.transpose(array, (1, 2, 0))
    raise ValueError(f"cannot find a channel axis of size 1, 3 or 4 in shape {tuple(array.shape)}.")


def _hwc_array(x: Any, what: str = "to_pil") -> np.ndarray:
    """Return a numpy array or torch tensor as an HWC array (booleans as uint8 0/255)."""
    channels_first = False
    if isinstance(x, torch.Tensor):
        tensor = x.detach().cpu()
        if tensor.ndim == 4:
            if tensor.shape[0] != 1:
                raise ValueError(
                    f"{what} takes one image, got a batch of {tensor.shape[0]}; pass a list of "
                    "images (or use image_grid to show them)."
                )
            tensor = tensor[0]
        if tensor.is_complex():
            raise ValueError(f"unsupported tensor dtype {tensor.dtype}.")
        array = tensor.float().numpy() if tensor.is_floating_point() else tensor.numpy()
        channels_first = True
    elif isinstance(x, np.ndarray):
        array = x
    else:
        raise ValueError(
            f"cannot make an image from {type(x).__name__}; pass a PIL image, a numpy array or a "
            "torch tensor."
        )
    if array.size == 0:
        raise ValueError(f"empty image of shape {tuple(array.shape)}.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255  # a boolean mask: True is white
    return _to_hwc(array, channels_first)


def to_pil(x: Any) -> Image.Image:
    """Return ``x`` as a PIL image.

    Accepts a PIL image; a numpy array (uint8 0-255, or float in [0, 1] or [-1, 1]; HW, HWC or
    CHW); a torch tensor in [0, 1] or [-1, 1] (HW, CHW, or BCHW with B = 1); a boolean array or
    tensor (a mask: True is white). Floats that all lie in [0, 1] are read as [0, 1]. Anything
    else raises ValueError.
    Used in 02_forward_diffusion, 08_controlnet.
    """
    if isinstance(x, Image.Image):
        return x
    array = _hwc_array(x)
    if array.dtype == np.uint8:
        pixels = array
    elif np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"integer image values must lie in 0-255; got [{low}, {high}].")
        pixels = array.astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        pixels = _float_to_uint8(array.astype(np.float32))
    else:
        raise ValueError(f"unsupported array dtype {array.dtype}.")
    if pixels.shape[-1] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0]), mode="L")
    mode = "RGB" if pixels.shape[-1] == 3 else "RGBA"
    return Image.fromarray(np.ascontiguousarray(pixels), mode=mode)


def picture_for_pipeline(x: Any, *, name: str = "image") -> Image.Image | np.ndarray:
    """Return ``x`` as a picture a pipeline reads right: a PIL RGB image, or floats as an HxWx3 array.

    A PIL image of any mode (RGBA, LA, P, L, ...) becomes RGB (alpha dropped, as diffusers'
    ``load_image`` does); a uint8 or integer array 0-255 becomes the same PIL image; a float
    array or tensor in [0, 1] (or [-1, 1]) stays float, as a float32 HxWx3 array in [0, 1].
    Grey pictures get three equal channels and a fourth (alpha) channel is dropped, so a picture
    is never taken for 4-channel latents; float values outside [-1, 1] raise ValueError.
    Used by helpers.core.generate (no notebook calls it).
    """
    if isinstance(x, Image.Image):
        return x if x.mode == "RGB" else x.convert("RGB")
    try:
        array = _hwc_array(x, what=f"{name}=")
    except ValueError as error:
        raise ValueError(f"{name}= is not a picture: {error}") from None
    if not np.issubdtype(array.dtype, np.floating):
        return to_pil(array).convert("RGB")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{name}= contains NaN or infinity; pass a picture with values in [0, 1].")
    low, high = float(array.min()), float(array.max())
    if low < -1 - _TOLERANCE or high > 1 + _TOLERANCE:
        looks = (" (4 channels: it looks like latents; pass latents with pipe(..., latents=...) "
                 "yourself)" if array.shape[-1] == 4 else "")
        raise ValueError(f"{name}= holds float values in [{low:.3g}, {high:.3g}]{looks}; a float "
                         "picture must lie in [0, 1] (divide a 0-255 picture by 255).")
    if low < -_TOLERANCE:
        array = (array + 1) / 2
    array = np.clip(array, 0, 1)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[:, :, :3])


def mask_for_pipeline(x: Any, *, name: str = "mask_image") -> Image.Image:
    """Return ``x`` as an inpainting mask: a PIL L image, white (255) where the picture is redrawn.

    Accepts a PIL image of any mode, a boolean array or tensor (True = redraw), a uint8 array
    0-255, or floats in [0, 1].
    Used by helpers.core.generate (no notebook calls it).
    """
    if isinstance(x, Image.Image):
        return x if x.mode == "L" else x.convert("L")
    try:
        return to_pil(x).convert("L")
    except ValueError as error:
        raise ValueError(f"{name}= is not a mask: {error} A mask is white (or True) where the "
                         "picture is redrawn.") from None


def _as_images(images: Any) -> list[Image.Image]:
    """Split a batch or a sequence into a list of PIL images."""
    if isinstance(images, (torch.Tensor, np.ndarray)) and images.ndim == 4:
        items: Sequence[Any] = list(images)
    elif isinstance(images, (list, tuple)):
        items = images
    else:
        items = [images]
    if len(items) == 0:
        raise ValueError("no images to show: the list is empty.")
    return [to_pil(item) for item in items]


def _check_titles(titles: Sequence[str] | None, n: int) -> list[str] | None:
    if titles is None:
        return None
    if isinstance(titles, str):
        raise ValueError("titles must be a list of strings, one per image, not one string.")
    if len(titles) != n:
        raise ValueError(f"got {len(titles)} titles for {n} images; give one title per image.")
    return [str(t) for t in titles]


def _grid_shape(n: int, cols: int | None) -> tuple[int, int]:
    if cols is None:
        cols = min(n, 4)
    if not isinstance(cols, int) or cols < 1:
        raise ValueError(f"cols must be a positive int, got {cols!r}.")
    cols = min(cols, n)
    return math.ceil(n / cols), cols


def image_grid(
    images: Any, cols: int | None = None, titles: Sequence[str] | None = None
) -> Image.Image:
    """Return one PIL image with ``images`` laid out in a grid, ``titles`` written under each.

    ``images`` is a list of anything ``to_pil`` accepts, or a batch (BCHW tensor, BHWC or BCHW
    array). ``cols`` defaults to up to 4 per row. Smaller images are centred in their cell.
    Used by helpers.prompting.prompt_grid (no notebook calls it).
    """
    pictures = [im.convert("RGB") for im in _as_images(images)]
    names = _check_titles(titles, len(pictures))
    rows, cols = _grid_shape(len(pictures), cols)
    cell_w = max(im.width for im in pictures)
    cell_h = max(im.height for im in pictures)
    font = ImageFont.load_default()
    band = 0
    if names:
        probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
        band = max(probe.textbbox((0, 0), t or " ", font=font)[3] for t in names) + 6
    grid = Image.new("RGB", (cols * cell_w, rows * (cell_h + band)), "white")
    draw = ImageDraw.Draw(grid)
    for i, im in enumerate(pictures):
        r, c = divmod(i, cols)
        x0, y0 = c * cell_w, r * (cell_h + band)
        grid.paste(im, (x0 + (cell_w - im.width) // 2, y0 + (cell_h - im.height) // 2))
        if names:
            width = draw.textlength(names[i], font=font)
            draw.text(
                (x0 + max(0, (cell_w - width) / 2), y0 + cell_h + 3),
                names[i],
                fill="black",
                font=font,
            )
    return grid


def _text_width(text: str) -> int:
    """Return how many columns ``text`` takes: a Hangul or other wide character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_title(text: str, width: int) -> str:
    """Return ``text`` broken into lines of at most ``width`` columns (Hangul counts two), at spaces.

    A word longer than a line is cut where the line is full. Line breaks already in ``text`` stay.
    Used by helpers.core.images (no notebook calls it).
    """
    if width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}.")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if _text_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for ch in word:  # a word wider than the line: cut it
                if _text_width(line + ch) > width:
                    lines.append(line)
                    line = ""
                line += ch
        lines.append(line)
    return "\n".join(lines)


#: About how many columns of a matplotlib title (12 pt) fit in one inch of picture.
TITLE_COLUMNS_PER_INCH = 9


class ShownFigure:
    """A figure that ``show_images`` has already put on screen: showing it again shows nothing.

    ``.figure`` is the matplotlib ``Figure`` (to save it: ``shown.figure.savefig(path)``); any other
    attribute is the figure's (``shown.get_size_inches()``). A notebook cell that ends with the
    call would show the returned value a second time; IPython asks ``_ipython_display_`` first,
    and this one shows nothing.
    Used by helpers.core.images (no notebook calls it).
    """

    __slots__ = ("figure",)

    def __init__(self, figure: Any) -> None:
        self.figure = figure

    def __getattr__(self, name: str) -> Any:
        return getattr(self.figure, name)

    def __repr__(self) -> str:
        return f"ShownFigure({self.figure!r})"

    def _ipython_display_(self) -> None:
        """Show nothing: the figure is already on screen."""


def show_images(
    images: Any,
    cols: int | None = None,
    titles: Sequence[str] | None = None,
    size: float = 3.0,
) -> ShownFigure:
    """Return a ShownFigure after drawing ``images`` in a grid, ``size`` inches per image, on screen.

    Accepts the same inputs as ``image_grid``. In a notebook the figure appears where the call
    is, like ``print``, whether or not it is the cell's last line, and exactly once; outside a
    notebook nothing is shown. Titles are wrapped to the picture's width (never cut). The
    matplotlib figure is ``.figure`` of the returned value. In presenter mode
    (``helpers.present()``) each image is drawn 1.5 times larger.
    Used in 00_setup_check, 01_gan_vae_recap, 02_forward_diffusion, 03_reverse_diffusion,
    04_inside_stable_diffusion, 05_running_stable_diffusion, 06_prompt_engineering,
    07_failure_cases, 08_controlnet, 09_editing_and_personalization, 10_responsible_generation,
    11_flow_matching.
    """
    import matplotlib.pyplot as plt

    pictures = _as_images(images)
    names = _check_titles(titles, len(pictures))
    if size <= 0:
        raise ValueError(f"size must be positive, got {size!r}.")
    rows, cols = _grid_shape(len(pictures), cols)
    if presenting():  # presenter mode (helpers.present): bigger on a projector
        size *= 1.5
    if names:
        width = max(4, int(size * TITLE_COLUMNS_PER_INCH))
        names = [wrap_title(name, width) for name in names]
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(pictures):
            im = pictures[i]
            if im.mode == "L":
                ax.imshow(im, cmap="gray", vmin=0, vmax=255)
            else:
                ax.imshow(im)
            if names:
                ax.set_title(names[i])
    fig.tight_layout()
    plt.close(fig)  # closed in pyplot, so the inline backend does not show it a second time
    show_now(fig)
    return ShownFigure(fig)
