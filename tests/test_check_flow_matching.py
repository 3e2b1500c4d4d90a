"""Checkers of 11_flow_matching: right answers pass, each usual mistake gets its own hint."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers import checks
from helpers.checks.flow_matching import reflow_straightness


def broadcast(s, x0):
    return s.view(-1, *([1] * (x0.dim() - 1)))


def loss_right(model, x0, noise, s):
    sb = broadcast(s, x0)
    return F.mse_loss(model((1 - sb) * x0 + sb * noise, s), noise - x0)


def loss_with(mix, target):
    def loss(model, x0, noise, s):
        sb = broadcast(s, x0)
        x_s = {"right": (1 - sb) * x0 + sb * noise, "swapped": sb * x0 + (1 - sb) * noise,
               "ddpm": (1 - sb).sqrt() * x0 + sb.sqrt() * noise}[mix]
        wanted = {"right": noise - x0, "sign": x0 - noise, "noise": noise, "x0": x0}[target]
        return F.mse_loss(model(x_s, s), wanted)
    return loss


def test_flow_loss_right_in_float64_and_as_a_sum_of_parts():
    assert checks.check_flow_matching_loss(loss_right)
    assert checks.check_flow_matching_loss(lambda m, x0, n, s: loss_right(m, x0.double(), n.double(), s.double()))


def test_flow_loss_mistakes_get_their_own_hint():
    cases = {("right", "sign"): "부호", ("right", "noise"): "DDPM의 목표", ("right", "x0"): "목표가 x0",
             ("swapped", "right"): "두 끝이 바뀌었습니다", ("ddpm", "right"): "제곱근"}
    for (mix, target), words in cases.items():
        verdict = checks.check_flow_matching_loss(loss_with(mix, target))
        assert not verdict and words in verdict.message, (mix, target, verdict.message)


def test_flow_loss_not_a_scalar_and_not_broadcast():
    verdict = checks.check_flow_matching_loss(
        lambda m, x0, n, s: ((m((1 - broadcast(s, x0)) * x0 + broadcast(s, x0) * n, s) - (n - x0)) ** 2))
    assert not verdict and "스칼라" in verdict.message
    verdict = checks.check_flow_matching_loss(lambda m, x0, n, s: F.mse_loss(m((1 - s) * x0 + s * n, s), n - x0))
    assert not verdict  # s not broadcast: a crash, reported as a hint


def test_flow_euler_step_right_and_mistakes():
    assert checks.check_flow_euler_step(lambda x, v, s, sn: x + (sn - s) * v)
    for wrong, words in ((lambda x, v, s, sn: x + (s - sn) * v, "부호"),
                         (lambda x, v, s, sn: x - v / 8, "1/8"),
                         (lambda x, v, s, sn: x - v, "끝까지"),
                         (lambda x, v, s, sn: x + (sn - s) * v * 2, "x + (σ_next − σ)·v")):
        verdict = checks.check_flow_euler_step(wrong)
        assert not verdict and words in verdict.message, verdict.message


def test_reflow_straightness_remeasures_with_the_given_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    right = reflow_straightness(net)
    assert 0 < right <= 1
    assert checks.check_reflow_straightness(round(right, 2), net)
    assert checks.check_reflow_straightness(torch.tensor(right), net)
    inverted = checks.check_reflow_straightness(1 / right + 0.05, net)
    assert not inverted and "거꾸로" in inverted.message
    assert not checks.check_reflow_straightness(right - 0.2, net)
    assert not checks.check_reflow_straightness(-0.5, None)  # out of range: answered before the model runs
