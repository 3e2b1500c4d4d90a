"""How close the bundled model's pictures are to the clean render of what they show.

For generated pictures whose attributes the Shapes reader reads right, the mean per-pixel error
(on the 0-255 scale) against ``shapes.render`` of those attributes; beside it the same figure for
the VAE's own round trip (encode, decode) of renders, and for the training pictures themselves
(renders, so 0: the floor). The round trip bounds what any UNet can reach through this VAE.
"""

from __future__ import annotations

import random

import numpy as np
import torch

from helpers.core.generate import generate
from helpers.core.latents import image_to_tensor
from helpers.shapes import Shape, parse_caption, random_shape, render
from helpers.shapes.captions import random_captions
from helpers.shapes.reader import read


def _to_uint8(batch: torch.Tensor) -> np.ndarray:
    return ((batch.detach().float().clamp(-1, 1) + 1) * 127.5).round().numpy()


def pixel_error(picture, reference) -> float:
    """Return the mean absolute difference of two pictures on the 0-255 scale.

    Used by helpers.training.fidelity (no notebook calls it).
    """
    a = np.asarray(picture.convert("RGB") if hasattr(picture, "convert") else picture, float)
    b = np.asarray(reference.convert("RGB") if hasattr(reference, "convert") else reference, float)
    if a.shape != b.shape:
        raise ValueError(f"pictures of different sizes: {a.shape} and {b.shape}")
    return float(np.abs(a - b).mean())


@torch.no_grad()
def round_trip_error(vae, n: int = 32, size: int = 64, seed: int = 5) -> float:
    """Return the VAE's round-trip error of ``n`` random renders (posterior mode), 0-255 scale.

    Used by helpers.training.fidelity (no notebook calls it).
    """
    rng = random.Random(seed)
    x = torch.stack([image_to_tensor(render(random_shape(rng), size)) for _ in range(n)])
    x = x.to(vae.device, vae.dtype)
    recon = vae.decode(vae.encode(x).latent_dist.mode()).sample
    return float(np.abs(_to_uint8(recon.cpu()) - _to_uint8(x.cpu())).mean())


def fidelity_report(pipe, n: int = 64, steps: int = 20, guidance: float = 5.0,
                    seed: int = 77) -> dict[str, float]:
    """Return generated-vs-render error (pictures read right), the VAE round trip and the floor.

    Used by helpers.training.evaluate (no notebook calls it).
    """
    prompts = random_captions(n, seed=seed)
    images = generate(pipe, prompts, steps=steps, guidance=guidance, seed=seed, cache=False)
    size = images[0].size[0]
    errors = []
    for prompt, image in zip(prompts, images, strict=True):
        named = parse_caption(prompt)
        got = read(image)
        if all(got[name] == value for name, value in named.items()):
            errors.append(pixel_error(image, render(Shape(**named), size)))
    return {
        "captions": n, "steps": steps, "guidance": guidance,
        "read_right": len(errors),
        "generated_vs_render": round(float(np.mean(errors)), 2) if errors else float("nan"),
        "vae_round_trip": round(round_trip_error(pipe.vae, size=size), 2),
        "training_pictures": round(training_picture_error(size=size), 2),
    }


def training_picture_error(n: int = 32, size: int = 64, seed: int = 5) -> float:
    """Return the error of the training pictures (tensors in [-1, 1]) against their renders.

    Renders stored as tensors and turned back into 0-255 pixels: the floor, 0 unless the
    conversion loses something.
    Used by helpers.training.fidelity (no notebook calls it).
    """
    rng = random.Random(seed)
    items = [random_shape(rng) for _ in range(n)]
    stored = torch.stack([image_to_tensor(render(item, size)) for item in items])
    again = np.stack([np.asarray(render(item, size).convert("RGB"), float) for item in items])
    return float(np.abs(_to_uint8(stored).transpose(0, 2, 3, 1) - again).mean())
