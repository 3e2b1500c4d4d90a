"""Checkers of 01_gan_vae_recap: right answers pass, each typical wrong one gets its own hint."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from helpers import checks, shapes
from helpers.checks.gan_vae_recap import reference_kl


def right_reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def hint(verdict) -> str:
    assert not verdict and verdict.kind == "wrong", verdict
    return verdict.message


def test_reparameterize_passes_the_right_answer_in_any_float_dtype():
    assert checks.check_reparameterize(right_reparameterize)
    assert checks.check_reparameterize(lambda mu, lv: right_reparameterize(mu.double(), lv.double()))
    assert checks.check_reparameterize(lambda mu, lv: mu + (lv / 2).exp() * torch.randn(mu.shape))


def test_reparameterize_names_each_typical_mistake():
    assert checks.check_reparameterize(None).kind == "todo"
    assert "분산 exp(logvar)" in hint(checks.check_reparameterize(lambda mu, lv: mu + lv.exp() * torch.randn_like(mu)))
    assert "logvar를 그대로" in hint(checks.check_reparameterize(lambda mu, lv: mu + lv * torch.randn_like(mu)))
    assert "평균이 0" in hint(checks.check_reparameterize(lambda mu, lv: (0.5 * lv).exp() * torch.randn_like(mu)))
    assert "모두 같은 값" in hint(checks.check_reparameterize(lambda mu, lv: mu + 0 * lv))
    assert "torch.normal" in hint(checks.check_reparameterize(lambda mu, lv: torch.normal(mu, (0.5 * lv).exp())))
    assert "NaN" in hint(checks.check_reparameterize(lambda mu, lv: mu + lv.sqrt() * torch.randn_like(mu)))
    assert "오류" in hint(checks.check_reparameterize(lambda mu, lv: 1 / 0))


def test_kl_passes_the_right_answer_in_any_float_dtype():
    assert checks.check_kl(reference_kl)
    assert checks.check_kl(lambda mu, lv: reference_kl(mu, lv).half())
    assert checks.check_kl(lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv.exp()).sum(dim=-1))


def test_kl_names_each_typical_mistake():
    assert checks.check_kl(None).kind == "todo"
    assert "평균(mean)" in hint(checks.check_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv - 1).mean(1)))
    assert "1/2" in hint(checks.check_kl(lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1)))
    assert "-1" in hint(checks.check_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(1)))
    assert "σ = exp" in hint(checks.check_kl(lambda mu, lv: 0.5 * (mu**2 + (lv / 2).exp() - lv - 1).sum(1)))
    assert "NaN" in hint(checks.check_kl(lambda mu, lv: 0.5 * (mu**2 + lv - lv.log() - 1).sum(1)))
    assert "숫자 하나" in hint(checks.check_kl(lambda mu, lv: reference_kl(mu, lv).sum()))
    assert "오류" in hint(checks.check_kl(lambda mu, lv: 1 / 0))


START = shapes.Shape("circle", "large", "red", "left", "blue")
END = shapes.Shape("square", "large", "yellow", "right", "black")


def as_tensor(item) -> torch.Tensor:
    pixels = np.asarray(shapes.render(item, size=32), dtype=np.float32)
    return torch.from_numpy(pixels).permute(2, 0, 1) / 127.5 - 1


class Encoder(nn.Module):
    """mu = 0 for START, 1 for END (read from the mean of the green channel); logvar = 0."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))
        self.low, self.high = float(as_tensor(START)[1].mean()), float(as_tensor(END)[1].mean())

    def forward(self, x):
        mu = (x[:, 1].mean(dim=(1, 2)) - self.low) / (self.high - self.low)
        return torch.stack([mu, torch.zeros_like(mu)], dim=1)


class Decoder(nn.Module):
    """z < 0.42 → START, z < 0.62 → a purple circle, else END: the colour switches at w = 0.65."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))
        middle = shapes.Shape("circle", "large", "purple", "center", "blue")
        self.pictures = [as_tensor(START), as_tensor(middle), as_tensor(END)]

    def forward(self, z):
        return torch.stack([self.pictures[0 if w < 0.42 else 1 if w < 0.62 else 2] for w in z[:, 0].tolist()])


def test_colour_switch_re_measures_and_names_each_typical_mistake():
    parts = Encoder(), Decoder(), as_tensor(START), as_tensor(END)
    assert checks.check_colour_switch(0.65, *parts)
    assert checks.check_colour_switch(np.float32(0.65), *parts)
    assert checks.check_colour_switch(torch.tensor(0.65), *parts)
    assert checks.check_colour_switch(None, *parts).kind == "todo"
    assert "번호(index)" in hint(checks.check_colour_switch(13, *parts))
    assert "한 칸 앞" in hint(checks.check_colour_switch(0.6, *parts))
    assert "짐작" in hint(checks.check_colour_switch(0.5, *parts))
    assert "purple" in hint(checks.check_colour_switch(0.45, *parts))
    assert "0과 1 사이" in hint(checks.check_colour_switch(-0.3, *parts))
    assert "숫자 하나" in hint(checks.check_colour_switch("0.65", *parts))
