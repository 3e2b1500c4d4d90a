"""The reader: a Shapes-world picture read back into its attributes without learning, and adherence scores.

This is the spec's "Reading a picture back" section: the Shapes world's version of
a CLIP score, with a ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from helpers.shapes import ATTRIBUTES, COLORS, PALETTE, POSITIONS, parse_caption, parse_two_caption
from helpers.shapes.korean import is_korean, parse_korean_caption
from helpers.shapes.people import person_mask

_PALETTE_ARRAY = np.array([PALETTE[c] for c in COLORS], dtype=np.float32)
FILL_RATIOS: dict[str, float] = {"triangle": 0.5, "circle": 0.785, "square": 1.0}
LARGE_THRESHOLD = 0.20
OFF_LINE = 60.0  # RGB distance beyond which a pixel is not a blend of object and background


def _as_array(image) -> np.ndarray:
    """Return an HxWx3 uint8 array from a PIL image or an HxWx3 uint8 array."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(
            "read() takes a PIL image or an HxWx3 uint8 array; "
            f"got {type(image).__name__} with shape {getattr(array, 'shape', None)}"
        )
    return array


def snap(image) -> np.ndarray:
    """Return an HxW array of palette indices: each pixel snapped to its nearest palette colour.

    Used in 01_gan_vae_recap.
    """
    pixels = _as_array(image).astype(np.float32)
    dist = ((pixels[:, :, None, :] - _PALETTE_ARRAY[None, None]) ** 2).sum(-1)
    return dist.argmin(-1)


def _border_mode(indices: np.ndarray) -> int:
    border = np.concatenate([indices[0], indices[-1], indices[:, 0], indices[:, -1]])
    return int(np.bincount(border, minlength=len(COLORS)).argmax())


def background_and_object(indices: np.ndarray, background: int | None = None) -> tuple[int, int | None]:
    """Return the palette indices of a snapped picture's background and object colours.

    The background is the commonest colour on the border (unless given), the object the
    commonest other colour (None when the picture is all background).
    Used by helpers.shapes.{hands, hexagons, reader} (no notebook calls it).
    """
    if background is None:
        background = _border_mode(indices)
    counts = np.bincount(indices.ravel(), minlength=len(COLORS))
    counts[background] = 0
    return background, (int(counts.argmax()) if counts.sum() else None)


def _fill_ratio(pixels: np.ndarray, indices: np.ndarray, obj: int, background: int,
                box: tuple[int, int, int, int]) -> float:
    """Return the object's fill ratio of its bounding box, measured with sub-pixel coverage.

    Each pixel near the box gets a coverage between 0 and 1: where it lies on the line
    from the background colour to the object colour. Pixels off that line (another
    colour altogether) count as covered only if they snapped to the object colour.
    The box's sides are the summed column and row maxima of that coverage. At 64 px
    this agrees with counting snapped pixels on every rendered picture; at 32 px it is
    what tells a small circle (snapped fill 0.94) from a small square (0.90).
    """
    x0, x1, y0, y1 = box
    h, w = indices.shape
    x0, y0, x1, y1 = max(x0 - 1, 0), max(y0 - 1, 0), min(x1 + 1, w), min(y1 + 1, h)
    region = pixels[y0:y1, x0:x1].astype(np.float32)
    bg, fg = _PALETTE_ARRAY[background], _PALETTE_ARRAY[obj]
    direction = fg - bg
    proj = (region - bg) @ direction / float(direction @ direction)
    residual = np.linalg.norm(region - bg - proj[..., None] * direction, axis=-1)
    snapped = (indices[y0:y1, x0:x1] == obj).astype(np.float32)
    alpha = np.where(residual < OFF_LINE, np.clip(proj, 0.0, 1.0), snapped)
    box_w, box_h = alpha.max(axis=0).sum(), alpha.max(axis=1).sum()
    if box_w <= 0 or box_h <= 0:
        return 0.0
    return float(alpha.sum() / (box_w * box_h))


def _read_indices(pixels: np.ndarray, indices: np.ndarray, width: float,
                  background: int | None = None, x_offset: float = 0.0) -> dict[str, str | None]:
    """Read one object from a picture and its snapped indices, relative to width ``width``."""
    background, obj = background_and_object(indices, background)
    result: dict[str, str | None] = {"background": COLORS[background], "color": None,
                                     "shape": None, "size": None, "position": None}
    if obj is None:
        return result
    ys, xs = np.nonzero(indices == obj)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    box_w, box_h = x1 - x0, y1 - y0
    fill = _fill_ratio(pixels, indices, obj, background, (x0, x1, y0, y1))
    cx = (x0 + x1) / 2.0 / width + x_offset
    cy = (y0 + y1) / 2.0 / width
    result["color"] = COLORS[obj]
    result["size"] = "large" if max(box_w, box_h) / 2.0 > LARGE_THRESHOLD * width else "small"
    result["position"] = min(POSITIONS, key=lambda p: (POSITIONS[p][0] - cx) ** 2
                             + (POSITIONS[p][1] - cy) ** 2)
    result["shape"] = min(FILL_RATIOS, key=lambda s: abs(FILL_RATIOS[s] - fill))
    return result


def read(image) -> dict[str, str | None]:
    """Return the attributes read from a one-object picture (shape, size, color, position, background).

    An attribute that cannot be read (no object at all) is None.
    Used in 00_setup_check, 01_gan_vae_recap, 03_reverse_diffusion, 04_inside_stable_diffusion,
    05_running_stable_diffusion, 06_prompt_engineering, 07_failure_cases,
    09_editing_and_personalization, 10_responsible_generation, 11_flow_matching.
    """
    pixels = _as_array(image)
    indices = snap(pixels)
    return _read_indices(pixels, indices, float(indices.shape[1]))


def read_two(image) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Return the attributes of the left and right halves of a two-object picture.

    Each half is read by the one-object rules with W the full width, so anchors and
    sizes keep their meaning.
    Used in 07_failure_cases.
    """
    pixels = _as_array(image)
    indices = snap(pixels)
    width = indices.shape[1]
    half = width // 2
    background = _border_mode(indices)
    left = _read_indices(pixels[:, :half], indices[:, :half], float(width), background)
    right = _read_indices(pixels[:, half:], indices[:, half:], float(width), background,
                          x_offset=half / width)
    return left, right


def read_person(image) -> dict[str, object]:
    """Return a person picture's colour, background and body mask (non-background pixels).

    Used by helpers.shapes.reader, helpers.training.evaluate (no notebook calls it).
    """
    indices = snap(image)
    background = _border_mode(indices)
    mask = indices != background
    counts = np.bincount(indices[mask].ravel(), minlength=len(COLORS)) if mask.any() else None
    color = COLORS[int(counts.argmax())] if counts is not None else None
    return {"color": color, "background": COLORS[background], "mask": mask}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Return the intersection over union of two boolean masks (1.0 when both are empty).

    Used by helpers.shapes.reader (no notebook calls it).
    """
    union = np.logical_or(a, b).sum()
    if union == 0:
        return 1.0
    return float(np.logical_and(a, b).sum() / union)


def pose_iou(image, points: np.ndarray) -> float:
    """Return pose adherence: IoU of the picture's person mask with the mask drawn from ``points``.

    Used in 08_controlnet.
    """
    mask = read_person(image)["mask"]
    return mask_iou(mask, person_mask(points, size=mask.shape[0]))


def component_sizes(mask: np.ndarray) -> list[int]:
    """Return the pixel counts of the 4-connected components of a boolean mask, in scan order.

    Used by helpers.prompting.two_objects, helpers.shapes.{hands, reader} (no notebook calls it).
    """
    labels = np.zeros(mask.shape, dtype=np.int32)
    sizes: list[int] = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if labels[y0, x0]:
            continue
        label = len(sizes) + 1
        labels[y0, x0] = label
        stack, size = [(y0, x0)], 0
        while stack:
            y, x = stack.pop()
            size += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = label
                    stack.append((ny, nx))
        sizes.append(size)
    return sizes


def largest_component_share(mask: np.ndarray) -> tuple[int, float]:
    """Return the number of 4-connected components in ``mask`` and the largest one's share.

    Used by helpers.shapes.sample_quality, helpers.training.evaluate (no notebook calls it).
    """
    sizes = component_sizes(mask)
    if not sizes:
        return 0, 0.0
    return len(sizes), max(sizes) / float(sum(sizes))


def adherence(prompts: Sequence[str], images: Sequence) -> dict[str, float]:
    """Return prompt adherence: per-attribute accuracy and "all", over ``prompts`` and ``images``.

    Each attribute's accuracy is over the prompts that name it; "all" is the share
    of pictures with every named attribute right. Person prompts score colour and
    background; two-object prompts score each object's shape and colour and the
    background. Korean one-object prompts (``helpers.shapes.korean``) are scored like English ones.
    Used in 00_setup_check, 02_forward_diffusion, 04_inside_stable_diffusion,
    05_running_stable_diffusion, 06_prompt_engineering, 07_failure_cases,
    09_editing_and_personalization, 10_responsible_generation, 11_flow_matching.
    """
    if len(prompts) != len(images):
        raise ValueError(f"{len(prompts)} prompts but {len(images)} images")
    if not prompts:
        raise ValueError("adherence needs at least one prompt")
    hits: dict[str, list[bool]] = {}
    all_right: list[bool] = []
    for prompt, image in zip(prompts, images, strict=True):
        checks = _checks(prompt, image)
        for name, ok in checks.items():
            hits.setdefault(name, []).append(ok)
        all_right.append(all(checks.values()))
    order = [a for a in ATTRIBUTES if a in hits] + sorted(set(hits) - set(ATTRIBUTES))
    result = {name: float(np.mean(hits[name])) for name in order}
    result["all"] = float(np.mean(all_right))
    return result


def _checks(prompt: str, image) -> dict[str, bool]:
    if " and " in f" {prompt.strip().lower()} ":
        named_left, named_right = parse_two_caption(prompt)
        got_left, got_right = read_two(image)
        checks = {}
        for side, named, got in (("left", named_left, got_left), ("right", named_right, got_right)):
            for name in ("shape", "color"):
                if name in named:
                    checks[f"{side}_{name}"] = got[name] == named[name]
        if "background" in named_right:
            checks["background"] = got_left["background"] == named_right["background"]
        return checks
    named = parse_korean_caption(prompt) if is_korean(prompt) else parse_caption(prompt)
    if named["shape"] == "person":
        got = read_person(image)
        return {name: got[name] == named[name] for name in ("color", "background") if name in named}
    got = read(image)
    return {name: got[name] == value for name, value in named.items()}
