"""Checkers of 08_controlnet added for #19: the ControlNet skip and the VAE's IoU ceiling, right and typical wrong answers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from helpers import checks
from helpers.checks.controlnet import _round_trip_ious


def controlled_skip(skip, feature, weight, bias, scale):
    return skip + scale * F.conv2d(feature, weight, bias)


def einsum_skip(skip, feature, weight, bias, scale):
    """The same by hand: a 1x1 convolution mixes channels at every pixel."""
    mixed = torch.einsum("oc,bchw->bohw", weight[:, :, 0, 0], feature) + bias.view(1, -1, 1, 1)
    return skip + scale * mixed


def test_control_skip_accepts_right_answers_in_any_float_dtype():
    assert checks.check_control_skip(controlled_skip)
    assert checks.check_control_skip(einsum_skip)
    assert checks.check_control_skip(lambda *args: controlled_skip(*args).half())
    assert checks.check_control_skip(lambda *args: controlled_skip(*args).double())


@pytest.mark.parametrize(("answer", "hint"), [
    (lambda s, f, w, b, k: k * F.conv2d(f, w, b), "ControlNet의 몫만"),
    (lambda s, f, w, b, k: s + k * F.conv2d(f, w), "bias를 빠뜨렸습니다"),
    (lambda s, f, w, b, k: s + F.conv2d(f, w, b), "scale = 1일 때와 같습니다"),
    (lambda s, f, w, b, k: k * (s + F.conv2d(f, w, b)), "scale을 skip에도"),
    (lambda s, f, w, b, k: s + k * F.conv2d(f, w.transpose(0, 1), b), "두 축을 바꿔"),
    (lambda s, f, w, b, k: s + k * F.conv2d(f, w, b) + 1, "값이 다릅니다"),
    (lambda s, f, w, b, k: (s + k * F.conv2d(f, w, b))[:, :2], "모양(shape)"),
    (lambda s, f, w, b, k: 1 / 0, "ZeroDivisionError"),
])
def test_control_skip_names_each_typical_mistake(answer, hint):
    verdict = checks.check_control_skip(answer)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict


def test_control_skip_todo():
    assert checks.check_control_skip(None).kind == "todo"

    def blank(skip, feature, weight, bias, scale):
        raise NotImplementedError

    assert checks.check_control_skip(blank).kind == "todo"


@pytest.fixture(scope="module")
def measured():
    return _round_trip_ious(8)


def test_round_trip_lowers_the_pose_iou(measured):
    # Measured on 8 unseen people: drawn about 0.97, through the mini VAE about 0.85, scaled latents lower.
    assert 0.9 < measured["drawn"] <= 1.0
    assert 0.75 < measured["vae"] < measured["drawn"] - 0.05
    assert measured["scaled"] < measured["vae"] - 0.1


def test_vae_ceiling_re_measures(measured):
    assert checks.check_vae_ceiling(measured["vae"], 8)
    assert checks.check_vae_ceiling(torch.tensor(measured["vae"] + 0.015), 8)  # within 0.02, any number type
    assert not checks.check_vae_ceiling(measured["vae"] + 0.05, 8)


@pytest.mark.parametrize(("which", "hint"), [("percent", "백분율"), ("drawn", "VAE를 거치지 않은"),
                                             ("scaled", "scaling_factor"), ("other", "다시 잰 값보다")])
def test_vae_ceiling_names_each_typical_mistake(measured, which, hint):
    answer = {"percent": measured["vae"] * 100, "drawn": measured["drawn"], "scaled": measured["scaled"],
              "other": 0.3}[which]
    verdict = checks.check_vae_ceiling(answer, 8)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict


def test_vae_ceiling_todo_and_odd_answers():
    assert checks.check_vae_ceiling(None).kind == "todo"
    assert checks.check_vae_ceiling("0.85").kind == "wrong"
    assert checks.check_vae_ceiling(lambda: 0.85).kind == "wrong"
