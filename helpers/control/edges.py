"""Canny edge maps (캐니 윤곽선) for the canny ControlNet, in plain numpy (08_controlnet).

The steps are the textbook ones: colour channels → Gaussian blur → Sobel gradients → thin the
edges to one pixel along the gradient (non-maximum suppression) → keep strong edges
and the weak edges connected to them (hysteresis). ``cv2.Canny`` does the same; this
version needs no OpenCV.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def _convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="edge")
    out = np.zeros_like(image)
    for dy in range(kh):
        for dx in range(kw):
            out += kernel[dy, dx] * padded[dy:dy + image.shape[0], dx:dx + image.shape[1]]
    return out


def _gaussian(sigma: float) -> np.ndarray:
    radius = max(1, int(round(2 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    return np.outer(g, g)


def canny_edges(image, low: float = 100.0, high: float = 200.0, sigma: float = 1.0) -> Image.Image:
    """Return the Canny edge map of ``image``: white one-pixel edges on black, as an RGB picture.

    ``low`` and ``high`` are thresholds on the Sobel gradient magnitude of the 0–255
    picture's strongest channel (as in ``cv2.Canny(image, low, high)``): edges above ``high`` are kept, edges
    between the two are kept only when connected to a kept edge.
    Used in 08_controlnet.
    """
    if not 0 <= low <= high:
        raise ValueError(f"need 0 <= low <= high, got low={low}, high={high}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if not isinstance(image, Image.Image):
        raise ValueError(f"canny_edges takes a PIL image, got {type(image).__name__}")
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    # Per colour channel (a red shape on a blue ground can be one grey); like cv2.Canny on a
    # colour picture, each pixel keeps the channel with the strongest gradient.
    gxs, gys = [], []
    for c in range(3):
        smooth = _convolve(rgb[..., c], _gaussian(sigma))
        gxs.append(_convolve(smooth, sobel))
        gys.append(_convolve(smooth, sobel.T))
    gx_all, gy_all = np.stack(gxs), np.stack(gys)
    best = np.hypot(gx_all, gy_all).argmax(axis=0)[None]
    gx = np.take_along_axis(gx_all, best, 0)[0]
    gy = np.take_along_axis(gy_all, best, 0)[0]
    magnitude = np.hypot(gx, gy)
    # Non-maximum suppression: keep a pixel only if it beats both neighbours across the edge.
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    direction = (np.round(angle / 45.0).astype(int)) % 4  # 0: -, 1: /, 2: |, 3: \
    offsets = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}
    padded = np.pad(magnitude, 1)
    h, w = magnitude.shape
    thin = np.zeros_like(magnitude)
    for d, (dy, dx) in offsets.items():
        ahead = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        behind = padded[1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
        keep = (direction == d) & (magnitude >= ahead) & (magnitude >= behind)
        thin[keep] = magnitude[keep]
    strong = thin >= high
    weak = (thin >= low) & ~strong
    # Hysteresis: grow the strong edges into touching weak pixels until nothing changes.
    edges = strong.copy()
    while True:
        grown = np.pad(edges, 1)
        neighbours = np.zeros_like(edges)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                neighbours |= grown[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        added = weak & neighbours & ~edges
        if not added.any():
            break
        edges |= added
    array = (edges * 255).astype(np.uint8)
    return Image.fromarray(np.stack([array] * 3, axis=-1))
