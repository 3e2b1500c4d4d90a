"""A small deepfake detector: a few conv layers that tell generated pictures from rendered ones.

The first layer is fixed: it subtracts from each pixel the mean of its 3x3 neighbourhood, so
the network sees the high-frequency residual (the fine texture left once the flat colours are
removed). Image-forensics detectors start the same way, because a generator's fingerprints
live in that residual, not in what the picture shows. The rest is learned: three 3x3 conv
layers, global average pooling and one output, the logit of "generated".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class HighPass(nn.Module):
    """A fixed layer: each pixel minus the mean of its 3x3 neighbourhood (per colour channel).

    Used by helpers.responsible.deepfake_detector (no notebook calls it).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = nn.functional.pad(x, (1, 1, 1, 1), mode="replicate")
        return x - nn.functional.avg_pool2d(padded, 3, stride=1)


def build_detector(seed: int = 0, width: int = 16) -> nn.Module:
    """Return an untrained detector: HighPass, 3 conv layers (width, 2·width, 2·width), one logit.

    Used by helpers.responsible.deepfake_detector (no notebook calls it).
    """
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width!r}")
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = nn.Sequential(
            HighPass(),
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 1),
        )
    finally:
        torch.random.set_rng_state(generator_state)
    return model


def images_to_tensor(images: Sequence) -> torch.Tensor:
    """Return PIL pictures of one size as an (N, 3, H, W) float tensor in [-1, 1].

    Used by helpers.responsible.deepfake_detector (no notebook calls it).
    """
    if len(images) == 0:
        raise ValueError("need at least one picture")
    arrays = [np.asarray(im.convert("RGB")) for im in images]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"pictures must share one size, got {sorted({a.shape for a in arrays})}")
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_detector(real: Sequence, fake: Sequence, *, steps: int = 200, batch: int = 32,
                   lr: float = 3e-3, seed: int = 0) -> tuple[nn.Module, list[float]]:
    """Return ``(detector, losses)`` after training on ``real`` (label 0) and ``fake`` (label 1).

    Adam on binary cross-entropy, ``steps`` minibatches of ``batch`` pictures drawn with
    ``seed``; ``losses`` holds each step's loss. The detector comes back in eval mode.
    Used in 10_responsible_generation.
    """
    if len(real) == 0 or len(fake) == 0:
        raise ValueError(f"need pictures of both kinds, got {len(real)} real and {len(fake)} fake")
    if steps < 1 or batch < 1:
        raise ValueError(f"steps and batch must be at least 1, got steps={steps!r}, batch={batch!r}")
    x = torch.cat([images_to_tensor(real), images_to_tensor(fake)])
    y = torch.cat([torch.zeros(len(real)), torch.ones(len(fake))])
    model = build_detector(seed)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    order = torch.randperm(len(x), generator=generator)
    position = 0
    for _ in range(steps):
        if position + batch > len(order):
            order, position = torch.randperm(len(x), generator=generator), 0
        index = order[position:position + batch]
        position += batch
        loss = nn.functional.binary_cross_entropy_with_logits(model(x[index]).squeeze(1), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return model.eval(), losses


def detector_scores(model: nn.Module, images: Sequence, batch: int = 256) -> np.ndarray:
    """Return the detector's probability that each picture is generated (sigmoid of the logit).

    Used in 10_responsible_generation.
    """
    x = images_to_tensor(images)
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + batch]).squeeze(1) for i in range(0, len(x), batch)])
    return torch.sigmoid(logits).numpy()


def confusion_matrix(labels: Sequence[int], predictions: Sequence[int]) -> np.ndarray:
    """Return the 2x2 counts: row = true label (0 real, 1 generated), column = predicted label.

    Used in 10_responsible_generation.
    """
    labels, predictions = np.asarray(labels, int), np.asarray(predictions, int)
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.shape[0]} labels but {predictions.shape[0]} predictions")
    if not set(np.unique(np.concatenate([labels, predictions]))) <= {0, 1}:
        raise ValueError("labels and predictions must be 0 (real) or 1 (generated)")
    matrix = np.zeros((2, 2), dtype=int)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def saliency_map(model: nn.Module, images: Sequence) -> np.ndarray:
    """Return an (N, H, W) map per picture: |d logit / d pixel|, the largest over colour channels.

    Bright pixels are the ones whose change would move the detector's verdict most: what
    it looks at.
    Used in 10_responsible_generation.
    """
    x = images_to_tensor(images).requires_grad_(True)
    model.zero_grad()
    model(x).sum().backward()
    return x.grad.abs().amax(dim=1).numpy()
