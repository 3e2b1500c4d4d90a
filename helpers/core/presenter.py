"""Presenter mode (발표 모드): big figures, fonts and pictures for a projector, and no log noise.

``helpers.present()`` turns it on, ``helpers.present(False)`` turns it off and puts back
everything it changed. It is off by default and changes only how things are *shown*: the
values a cell returns (pictures, grids, numbers) are the same either way.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

from PIL import Image

#: matplotlib settings while presenting: larger text and lines, sharper figures.
PROJECTOR_RC: dict[str, Any] = {
    "font.size": 16,
    "axes.titlesize": 20,
    "axes.labelsize": 18,
    "xtick.labelsize": 15,
    "ytick.labelsize": 15,
    "legend.fontsize": 15,
    "figure.titlesize": 22,
    "lines.linewidth": 2.5,
    "lines.markersize": 9,
    "axes.linewidth": 1.5,
    "figure.dpi": 110,
}

#: Slideshow font sizes in CSS pixels: presenter mode's large text for the live RISE slideshow
#: (notebooks/rise.css) and the static export (make slides); tools/slides.py writes both from here.
SLIDE_FONT_PX: dict[str, int] = {"text": 28, "heading": 44, "code": 24, "output": 22}

#: Loggers that print progress chatter and warnings during loading and generation.
QUIET_LOGGERS = ("diffusers", "transformers", "huggingface_hub", "accelerate")

#: A picture is shown enlarged (nearest neighbour, so pixels stay honest) to about this size.
SCREEN_WIDTH, SCREEN_HEIGHT, MAX_ZOOM = 1200, 720, 8

_saved: dict[str, Any] = {}


def presenting() -> bool:
    """Return True while presenter mode is on.

    Used by helpers.checks.api, helpers.core.{generate, images, presenter} (no notebook calls it).
    """
    return bool(_saved)


def projector_zoom(width: int, height: int) -> int:
    """Return the whole-number zoom that shows a ``width`` x ``height`` picture large on a projector.

    Small pictures (the bundled model's 64 px) grow up to ``MAX_ZOOM`` times; a picture already
    about screen-sized stays 1.
    Used by helpers.core.presenter (no notebook calls it).
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"a picture needs a positive size, got {width}x{height}.")
    return max(1, min(MAX_ZOOM, SCREEN_WIDTH // width, SCREEN_HEIGHT // height))


def projector_png(image: Image.Image) -> bytes:
    """Return PNG bytes of ``image`` enlarged by ``projector_zoom`` (the picture itself is unchanged).

    Used by helpers.core.presenter (no notebook calls it).
    """
    zoom = projector_zoom(*image.size)
    shown = image if zoom == 1 else image.resize((image.width * zoom, image.height * zoom),
                                                 Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    shown.save(buffer, format="PNG")
    return buffer.getvalue()


def slide_css() -> str:
    """Return the CSS that gives a reveal.js slideshow presenter mode's large fonts (SLIDE_FONT_PX).

    The selectors match JupyterLab's cells both in the live RISE slideshow and in nbconvert's
    reveal.js export: prose (markdown), its headings, code and cell outputs.
    Used by tools/slides.py (no notebook calls it).
    """
    px = SLIDE_FONT_PX
    return (
        "/* Written by tools/slides.py from helpers/core/presenter.py SLIDE_FONT_PX; do not edit. */\n"
        f".reveal .jp-RenderedHTMLCommon {{ font-size: {px['text']}px; line-height: 1.4; }}\n"
        f".reveal .jp-RenderedHTMLCommon h1, .reveal .jp-RenderedHTMLCommon h2 {{ font-size: {px['heading']}px; }}\n"
        f".reveal .jp-RenderedHTMLCommon h3 {{ font-size: {round(px['heading'] * 0.8)}px; }}\n"
        f".reveal .jp-RenderedHTMLCommon table {{ font-size: {px['output']}px; }}\n"
        f".reveal .jp-InputArea .cm-content, .reveal .jp-InputArea .cm-line, .reveal .jp-InputArea pre "
        f"{{ font-size: {px['code']}px; line-height: 1.3; }}\n"
        f".reveal .jp-OutputArea-output pre, .reveal .jp-OutputArea-output .jp-RenderedText "
        f"{{ font-size: {px['output']}px; line-height: 1.3; }}\n"
        f".reveal .jp-OutputArea-output table {{ font-size: {px['output']}px; }}\n"
    )


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _quiet_libraries() -> dict[str, Any]:
    """Silence the libraries' progress bars and warnings; return what is needed to undo it."""
    undo: dict[str, Any] = {"levels": {name: logging.getLogger(name).level for name in QUIET_LOGGERS}}
    try:
        from diffusers.utils import logging as diffusers_logging

        undo["diffusers"] = diffusers_logging.get_verbosity()
        diffusers_logging.set_verbosity_error()
        diffusers_logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        from transformers.utils import logging as transformers_logging

        undo["transformers"] = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    except ImportError:
        pass
    for name in QUIET_LOGGERS:  # after the libraries' own verbosity was read and set
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

        undo["hub_bars_disabled"] = are_progress_bars_disabled()
        disable_progress_bars()
    except ImportError:
        pass
    return undo


def _restore_libraries(undo: dict[str, Any]) -> None:
    if "diffusers" in undo:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.set_verbosity(undo["diffusers"])
        diffusers_logging.enable_progress_bar()
    if "transformers" in undo:
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity(undo["transformers"])
        transformers_logging.enable_progress_bar()
    if undo.get("hub_bars_disabled") is False:
        from huggingface_hub.utils import enable_progress_bars

        enable_progress_bars()
    for name, level in undo["levels"].items():
        logging.getLogger(name).setLevel(level)


def present(on: bool = True) -> bool:
    """Return whether presenter mode is now on, after turning it on (default) or off.

    On: matplotlib uses the larger fonts, lines and resolution of ``PROJECTOR_RC``; pictures
    (PIL images, so also ``image_grid``) are displayed enlarged with ``projector_zoom``;
    ``show_images`` draws bigger; checker verdicts use a larger font; diffusers, transformers
    and hub progress bars, info logs and Python warnings are hidden, and ``helpers.generate``
    hides the pipeline's step bar. Off puts every one of these settings back as it was.
    Calling it twice in a row is harmless.
    Used by no notebook, helper or tool; exported as helpers.present.
    """
    if not isinstance(on, bool):
        raise ValueError(f"present() takes True or False, got {on!r}.")
    if on == presenting():
        return on
    import matplotlib
    import matplotlib.pyplot  # noqa: F401  (the inline backend sets its defaults on import)

    shell = _shell()
    png_formatter = shell.display_formatter.formatters["image/png"] if shell is not None else None
    if on:
        _saved["rc"] = {key: matplotlib.rcParams[key] for key in PROJECTOR_RC}
        matplotlib.rcParams.update(PROJECTOR_RC)
        _saved["warnings"] = warnings.catch_warnings()
        _saved["warnings"].__enter__()
        warnings.simplefilter("ignore")
        _saved["libraries"] = _quiet_libraries()
        if png_formatter is not None:
            _saved["png"] = png_formatter.for_type(Image.Image, projector_png)
        _saved["on"] = True
        return True
    matplotlib.rcParams.update(_saved["rc"])
    _saved["warnings"].__exit__(None, None, None)
    _restore_libraries(_saved["libraries"])
    if png_formatter is not None and "png" in _saved:
        png_formatter.pop(Image.Image, None)
        if _saved["png"] is not None:
            png_formatter.for_type(Image.Image, _saved["png"])
    _saved.clear()
    return False
