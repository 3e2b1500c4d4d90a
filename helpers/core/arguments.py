"""Checks for the arguments students pass to ``generate``: each mistake gets one sentence naming the fix.

Every check returns the value in the form the pipeline needs (``np.int64(5)`` becomes ``5``)
or raises ``ValueError`` (``TypeError`` for an unknown keyword argument) with one sentence
that says what to write instead. Decisions, so that nothing is silently wrong:

- ``steps``: a whole number from 1 to the scheduler's number of noise levels (1000 for SD).
- ``guidance``: a finite number of at least 1. diffusers turns classifier-free guidance off
  for any value up to 1 (0, 0.5 and 1 give the same picture), so values below 1 are refused
  with that explanation; ``guidance=1`` is how to ask for no guidance.
- ``seed``: a whole number (Python or NumPy integer), never a float or a string.
- ``strength`` (img2img, inpainting): more than 0, at most 1, and large enough that
  ``int(steps * strength)`` is at least one denoising step.
- ``width * height * batch`` pixels in one pipeline call: at most ``MAX_PIXELS_PER_CALL``.
- Keyword arguments: the pipeline's own ``__call__`` arguments only; diffusers' names for
  what ``generate`` already sets (``guidance_scale``, ``num_inference_steps``, ``generator``)
  are refused with the workbook's name, and a misspelling gets a did-you-mean.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Sequence
from typing import Any

#: Pixels (width x height x pictures) one pipeline call may make: 16 Mpx, e.g. 64 pictures of
#: 512x512 or one of 4096x4096. Memory grows with it (activations with the pixels, attention
#: with their square), so a call past it would fail allocating, or swap a laptop to a halt.
MAX_PIXELS_PER_CALL = 16 * 1024 * 1024

#: diffusers' names for what ``generate`` sets itself: the sentence that says what to write instead.
DIFFUSERS_NAMES: dict[str, str] = {
    "guidance_scale": "write guidance= instead of guidance_scale= (diffusers' name for it).",
    "num_inference_steps": "write steps= instead of num_inference_steps= (diffusers' name for it).",
    "generator": "generate makes one CPU generator per picture from seed=; write seed=42 instead of "
                 "generator= (or call pipe(...) yourself to use your own generator).",
    "num_images_per_prompt": "for several pictures pass a list of prompts, e.g. [prompt] * 4 "
                             "(picture i gets seed + i), instead of num_images_per_prompt=.",
}
#: Arguments of other pipelines: which pipeline takes them, and how to load it.
OTHER_TASKS: dict[str, tuple[str, str]] = {
    "strength": ("img2img or inpaint", "'img2img'"),
    "image": ("img2img, inpaint or controlnet", "'img2img'"),
    "mask_image": ("inpaint", "'inpaint'"),
    "controlnet_conditioning_scale": ("controlnet", "'controlnet'"),
    "image_guidance_scale": ("instruct-pix2pix", "'img2img', model='instruct-pix2pix'"),
}
#: ``generate``'s own keyword arguments, for did-you-mean suggestions.
GENERATE_NAMES = ("steps", "guidance", "width", "height", "seed", "batch", "negative_prompt",
                  "cache")


def _kind(value: Any) -> str:
    """Name a value's type the way a student would: 'the string '42'', 'the number 1.5'."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, numbers.Number):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _whole_number(value: Any) -> int | None:
    """Return ``value`` as an int if it is a Python or NumPy integer (not a bool), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    return None


def _unquote_hint(name: str, value: Any) -> str:
    """Return ' (write name=42, without quotes)' for a string that holds a number, else ''."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return ""
        shown = int(number) if number.is_integer() else number
        return f"; write {name}={shown} without quotes"
    return ""


def check_prompt(prompt: Any, *, name: str = "prompt") -> str | list[str]:
    """Return ``prompt`` as a string or a list of strings, or raise ValueError naming the fix.

    Used by helpers.core.{arguments, generate} (no notebook calls it).
    """
    if isinstance(prompt, str):
        return str(prompt)
    if isinstance(prompt, (list, tuple)):
        if not prompt:
            raise ValueError(f"{name} is an empty list; give at least one text, e.g. ['a red circle'].")
        for i, item in enumerate(prompt):
            if not isinstance(item, str):
                raise ValueError(f"{name}[{i}] is {_kind(item)}; every {name} in the list must be "
                                 f"text in quotes, e.g. 'a red circle'.")
        return [str(item) for item in prompt]
    example = "'a red circle'" if name == "prompt" else "'a blue background'"
    raise ValueError(f"{name} must be text in quotes such as {example} (or a list of them), got "
                     f"{_kind(prompt)}.")


def check_negative_prompt(negative: Any, prompt: str | list[str]) -> str | list[str] | None:
    """Return ``negative`` checked against ``prompt`` (None, one string, or one per prompt).

    Used by helpers.core.generate (no notebook calls it).
    """
    if negative is None:
        return None
    negative = check_prompt(negative, name="negative_prompt")
    if isinstance(negative, list):
        if isinstance(prompt, str):
            raise ValueError(f"one prompt but a list of {len(negative)} negative prompts; pass one "
                             "negative prompt as a string.")
        if len(negative) != len(prompt):
            raise ValueError(f"{len(prompt)} prompts but {len(negative)} negative prompts; give one "
                             "per prompt, or one string for all.")
    return negative


def check_steps(steps: Any, *, most: int | None = None) -> int:
    """Return ``steps`` as an int from 1 to ``most``, or raise ValueError naming the fix.

    Used by helpers.core.generate (no notebook calls it).
    """
    value = _whole_number(steps)
    if value is None:
        hint = _unquote_hint("steps", steps) or "; use a whole number such as 20"
        raise ValueError(f"steps must be a whole number of denoising steps, got {_kind(steps)}{hint}.")
    if value < 1:
        raise ValueError(f"steps={value} runs no denoising at all; use at least 1 (20 is usual).")
    if most is not None and value > most:
        raise ValueError(f"steps={value} is more than the {most} noise levels the model was trained "
                         f"with; use at most {most} (20 to 50 is usual).")
    return value


def check_guidance(guidance: Any) -> float:
    """Return ``guidance`` as a float of at least 1, or raise ValueError naming the fix.

    diffusers uses classifier-free guidance only above 1; at 1 and below it is off, so 0, 0.5
    and 1 all give the same picture. A value below 1 is therefore refused, not silently read as 1.
    Used by helpers.core.generate (no notebook calls it).
    """
    if isinstance(guidance, bool) or not isinstance(guidance, numbers.Real):
        hint = _unquote_hint("guidance", guidance)
        raise ValueError(f"guidance must be a number such as 7.5, got {_kind(guidance)}{hint}.")
    value = float(guidance)
    if not math.isfinite(value):
        raise ValueError(f"guidance={value} is not a finite number; use a number such as 7.5 "
                         "(or 1 for no guidance).")
    if value < 1:
        raise ValueError(f"guidance={value:g} is below 1, where diffusers turns guidance off exactly "
                         "as at 1 (no classifier-free guidance); write guidance=1 for no guidance, or "
                         "a value above 1 (SD's usual is 7.5) for more.")
    return value


def check_seed(seed: Any, *, count: int = 1) -> int:
    """Return ``seed`` as an int (NumPy integers accepted), or raise ValueError naming the fix.

    ``count`` pictures use seeds ``seed`` to ``seed + count - 1``; all must fit torch's range.
    Used by helpers.core.{device, generate, setup_report} (no notebook calls it).
    """
    value = _whole_number(seed)
    if value is None:
        hint = _unquote_hint("seed", seed)
        if not hint and isinstance(seed, float) and seed.is_integer():
            hint = f"; write seed={int(seed)}"
        raise ValueError(f"seed must be a whole number such as 42, got {_kind(seed)}{hint}.")
    if value < -(2**63) or value + count - 1 > 2**64 - 1:
        raise ValueError(f"seed={value} is outside the range torch accepts; use a number from 0 to "
                         "2**63 - 1, e.g. 42.")
    return value


def check_batch(batch: Any) -> int:
    """Return ``batch`` (pictures per pipeline call) as an int of at least 1, or raise ValueError.

    Used by helpers.core.generate (no notebook calls it).
    """
    value = _whole_number(batch)
    if value is None or value < 1:
        raise ValueError(f"batch must be at least 1, got {batch!r}; it is how many pictures go into "
                         "one pipeline call (leave it out for the default).")
    return value


def check_strength(strength: Any, *, steps: int) -> float:
    """Return ``strength`` (img2img, inpainting) as a float giving at least one denoising step.

    The pipeline runs ``int(steps * strength)`` steps, so ``strength`` must be at least
    ``1 / steps``; the error names that minimum and the steps that would make ``strength`` work.
    Used by helpers.core.generate (no notebook calls it).
    """
    if isinstance(strength, bool) or not isinstance(strength, numbers.Real):
        hint = _unquote_hint("strength", strength)
        raise ValueError(f"strength must be a number between 0 and 1 such as 0.5, got "
                         f"{_kind(strength)}{hint}.")
    value = float(strength)
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"strength={value:g} is outside 0 to 1; use a number such as 0.5 "
                         "(0 keeps the picture, 1 ignores it).")
    if int(steps * value) < 1:
        lowest = 1 / steps
        if value == 0:
            more = "; to keep the picture as it is, do not run the pipeline at all"
        else:
            needed = math.ceil(1 / value)
            while int(needed * value) < 1:
                needed += 1
            more = f", or steps={needed} or more for strength={value:g}"
        raise ValueError(f"strength={value:g} with steps={steps} runs int({steps} x {value:g}) = 0 "
                         f"denoising steps; use strength={lowest:.3g} or more (1 / steps){more}.")
    return value


def check_pixels(*, width: int, height: int, batch: int) -> None:
    """Return None if one call's ``width * height * batch`` pixels fit ``MAX_PIXELS_PER_CALL``.

    Otherwise raise ValueError: memory grows with the pixels of a call, so such a call would
    fail allocating (or swap a laptop to a halt) after a long wait.
    Used by helpers.core.generate (no notebook calls it).
    """
    pixels = width * height * batch
    if pixels > MAX_PIXELS_PER_CALL:
        pictures = f" x {batch} pictures" if batch > 1 else ""
        raise ValueError(
            f"{width}x{height}{pictures} is {pixels:,} pixels in one call, more than the "
            f"{MAX_PIXELS_PER_CALL:,} the workbook allows (memory grows with the pixels); use a "
            f"smaller size{' or a smaller batch' if batch > 1 else ''} (SD 1.5 is made for 512x512)."
        )


def call_arguments(pipe: Any) -> tuple[str, ...]:
    """Return the names of the keyword arguments ``pipe(...)`` takes (its ``__call__`` signature).

    Used by helpers.core.{arguments, generate} (no notebook calls it).
    """
    try:
        parameters = inspect.signature(pipe.__call__).parameters.values()
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in parameters if p.kind in kinds)


def call_default(pipe: Any, name: str) -> Any:
    """Return the default of ``pipe(...)``'s argument ``name``, or None if it has none.

    Used by helpers.core.generate (no notebook calls it).
    """
    try:
        parameter = inspect.signature(pipe.__call__).parameters.get(name)
    except (TypeError, ValueError):
        return None
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def check_keywords(pipe: Any, keywords: Sequence[str]) -> None:
    """Return None if every name in ``keywords`` is an argument ``pipe(...)`` takes, else raise TypeError.

    diffusers' names for what ``generate`` sets itself get the workbook's name; a misspelt
    name gets the closest real one (difflib).
    Used by helpers.core.generate (no notebook calls it).
    """
    accepted = call_arguments(pipe)
    if not accepted:
        return
    cls = type(pipe).__name__
    for name in keywords:
        if name in DIFFUSERS_NAMES:
            raise TypeError(DIFFUSERS_NAMES[name])
        if name in accepted:
            continue
        candidates = [*GENERATE_NAMES, *OTHER_TASKS,
                      *(n for n in accepted if n not in DIFFUSERS_NAMES and n not in ("self", "height",
                                                                                     "width"))]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        guess = close[0] if close else None
        if guess in OTHER_TASKS and guess not in accepted:
            owner, load = OTHER_TASKS[guess]
            where = "" if guess == name else f"did you mean {guess}=? "
            raise TypeError(f"{name}= is not an argument of {cls}; {where}{guess}= belongs to the "
                            f"{owner} pipeline, e.g. helpers.load_pipeline({load}).")
        hint = (f"did you mean {guess}=?" if guess
                else "see help(helpers.generate) and help(pipe.__call__) for the arguments.")
        raise TypeError(f"{name}= is not an argument of generate or of {cls}; {hint}")
