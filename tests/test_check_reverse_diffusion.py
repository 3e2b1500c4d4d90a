"""Checkers of 03_reverse_diffusion: right answers pass, each usual mistake gets its own hint."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from diffusers import DDPMScheduler

from helpers import checks, shapes
from helpers.checks.reverse_diffusion import _read_x0_trajectory, decided_t
from helpers.shapes.dataset import image_to_tensor


def ddim_step(x_t, eps, t, t_prev, abar):
    a = abar[t]
    a_prev = abar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    x0 = (x_t - (1 - a).sqrt() * eps) / a.sqrt()
    return a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps


def clipped(x_t, eps, t, t_prev, abar):
    a = abar[t]
    a_prev = abar[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    x0 = ((x_t - (1 - a).sqrt() * eps) / a.sqrt()).clamp(-1, 1)
    return a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps


def test_ddim_step_right_with_or_without_clipping_in_any_dtype():
    assert checks.check_ddim_step(ddim_step)
    assert checks.check_ddim_step(clipped)
    assert checks.check_ddim_step(lambda x, e, t, tp, abar: ddim_step(x.double(), e.double(), t, tp, abar.double()))
    assert checks.check_ddim_step(lambda x, e, t, tp, abar: ddim_step(x, e, t, tp, abar).half())


def _prev(abar, t_prev):
    return abar[t_prev] if t_prev >= 0 else torch.tensor(1.0)


@pytest.mark.parametrize(("mistake", "hint"), [
    (lambda x, e, t, tp, abar: _prev(abar, tp).sqrt() * (x + (1 - abar[t]).sqrt() * e) / abar[t].sqrt()
     + (1 - _prev(abar, tp)).sqrt() * e, "노이즈를 더했습니다"),
    (lambda x, e, t, tp, abar: _prev(abar, tp) * (x - (1 - abar[t]) * e) / abar[t] + (1 - _prev(abar, tp)) * e,
     "제곱근(sqrt)이 빠졌습니다"),
    (lambda x, e, t, tp, abar: ddim_step(x, e, t, tp, abar) * 0 + abar[t].sqrt() * (
        x - (1 - _prev(abar, tp)).sqrt() * e) / _prev(abar, tp).sqrt() + (1 - abar[t]).sqrt() * e, "뒤바뀌었습니다"),
    (lambda x, e, t, tp, abar: (x - (1 - abar[t]).sqrt() * e) / abar[t].sqrt(), "x̂_0만 돌려주었습니다"),
    (lambda x, e, t, tp, abar: ddim_step(x, e, t, tp + 1000 if tp < 0 else tp, torch.cat([abar, abar])),
     "t_prev < 0"),
])
def test_ddim_step_names_the_mistake(mistake, hint):
    verdict = checks.check_ddim_step(mistake)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


def test_ddim_step_todo_crash_and_other():
    assert checks.check_ddim_step(None).kind == "todo"

    def blank(x_t, eps, t, t_prev, abar):
        raise NotImplementedError

    assert checks.check_ddim_step(blank).kind == "todo"
    crash = checks.check_ddim_step(lambda x_t, eps, t, t_prev, abar: x_t * eps[:1, :1, :3])
    assert crash.kind == "wrong" and "오류" in crash.message
    other = checks.check_ddim_step(lambda x_t, eps, t, t_prev, abar: ddim_step(x_t, eps, t, t_prev, abar) + 1)
    assert other.kind == "wrong" and "두 단계로" in other.message


class Toy(torch.nn.Module):
    """A stand-in U-Net whose predicted x̂_0 is a rendered picture chosen by t (no randomness)."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.config = SimpleNamespace(sample_size=32)
        self.abar = DDPMScheduler(num_train_timesteps=1000).alphas_cumprod

        def picture(shape, color):
            return image_to_tensor(shapes.render(shapes.Shape(shape, "large", color, "center", "blue"), 32))[None]

        self.triangle = picture("triangle", "red")  # t > 600, and the final picture is a circle
        self.circle_green = picture("circle", "green")  # 520–600: right shape, wrong colour
        self.circle = picture("circle", "red")  # 700–680 once, then from 500 on

    def target(self, t):
        if t <= 500 or t in (700, 680):
            return self.circle
        return self.circle_green if t <= 600 else self.triangle

    def forward(self, x, t, class_labels=None):
        a = self.abar[int(t)]
        return SimpleNamespace(sample=(x - a.sqrt() * self.target(int(t))) / (1 - a).sqrt())


def test_decided_step_is_re_measured():
    toy = Toy()
    ts, x0_reads, xt_reads, final = _read_x0_trajectory(toy, 50, 3, 3)
    assert final["shape"] == "circle" and final["color"] == "red"
    assert decided_t(ts, x0_reads, final) == 500
    verdict = checks.check_decided_step(500, toy)
    assert verdict and "t = 500" in verdict.message
    assert checks.check_decided_step(torch.tensor(500), toy)
    assert checks.check_decided_step(None, toy).kind == "todo"


@pytest.mark.parametrize(("answer", "hint"), [
    (24, "순번(index)"),  # 980, 960, ... : 500 is the 25th step
    (700, "다시 바뀝니다"),
    (600, "모양(shape)만"),
    (740, "다시 재 보니"),
])
def test_decided_step_names_the_mistake(answer, hint):
    verdict = checks.check_decided_step(answer, Toy())
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


def test_decided_step_rejects_a_non_integer():
    verdict = checks.check_decided_step(500.5, Toy())
    assert verdict.kind == "wrong" and "정수" in verdict.message
