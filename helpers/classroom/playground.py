"""A prompt playground for class: widgets around one plain function that makes one picture."""

from __future__ import annotations

import io
import time
from typing import Any

from PIL import Image


def make_picture(pipe: Any, prompt: str, negative_prompt: str = "", seed: int = 0,
                 steps: int = 20, guidance: float = 7.5) -> tuple[Image.Image, float]:
    """Return ``(picture, seconds)`` for one prompt: what the playground's Generate button does.

    An empty negative prompt means none. Plain function, so tests and scripts can call it.
    Used in 06_prompt_engineering.
    """
    from helpers.core.generate import generate

    start = time.perf_counter()
    picture = generate(pipe, prompt, steps=int(steps), guidance=float(guidance), seed=int(seed),
                       negative_prompt=negative_prompt or None)[0]
    return picture, time.perf_counter() - start


def playground(pipe: Any, prompt: str = "", steps: int = 20, guidance: float = 7.5,
               show_size: int = 256) -> Any:
    """Return an ipywidgets box: prompt, negative prompt, seed, steps, guidance, Generate, picture.

    Clicking Generate calls ``make_picture`` and shows the picture (scaled to ``show_size``
    pixels) and the seconds it took. Display the box as the last line of a cell.
    Used in 06_prompt_engineering.
    """
    import ipywidgets as widgets

    text = widgets.Text(value=prompt, description="prompt", layout=widgets.Layout(width="95%"))
    negative = widgets.Text(value="", description="negative", layout=widgets.Layout(width="95%"))
    seed = widgets.IntText(value=0, description="seed")
    n_steps = widgets.IntSlider(value=steps, min=1, max=100, description="steps")
    scale = widgets.FloatSlider(value=guidance, min=1.0, max=20.0, step=0.5, description="guidance")
    button = widgets.Button(description="Generate", button_style="primary")
    picture = widgets.Image(format="png", width=show_size, height=show_size)
    status = widgets.Label(value="press Generate")

    def on_click(_: Any) -> None:
        status.value = "generating..."
        image, seconds = make_picture(pipe, text.value, negative.value, seed.value,
                                      n_steps.value, scale.value)
        buffer = io.BytesIO()
        image.resize((show_size, show_size), Image.Resampling.NEAREST).save(buffer, format="png")
        picture.value = buffer.getvalue()
        status.value = f"{seconds:.2f} s, seed {seed.value}"

    button.on_click(on_click)
    box = widgets.VBox([text, negative, widgets.HBox([seed, n_steps, scale]), button, picture, status])
    box.controls = {"prompt": text, "negative": negative, "seed": seed, "steps": n_steps,
                    "guidance": scale, "button": button, "picture": picture, "status": status}
    return box
