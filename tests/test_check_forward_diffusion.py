"""Checkers of 02_forward_diffusion: right answers pass, each usual mistake gets its own hint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import checks
from helpers.checks.forward_diffusion import SCHEDULES, _alphas_cumprod, snr_above_one_percent


def right(x0, t, noise, abar):
    a = abar[t].view(-1, 1, 1, 1)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def test_q_sample_right_in_any_float_dtype():
    assert checks.check_q_sample(right)
    assert checks.check_q_sample(lambda x0, t, noise, abar: right(x0.double(), t, noise.double(), abar.double()))
    assert checks.check_q_sample(lambda x0, t, noise, abar: right(x0, t, noise, abar).half())


@pytest.mark.parametrize(("mistake", "hint"), [
    (lambda x0, t, n, abar: abar[t].view(-1, 1, 1, 1) * x0 + (1 - abar[t].view(-1, 1, 1, 1)) * n,
     "제곱근(sqrt)이 빠졌습니다: x_0에도"),
    (lambda x0, t, n, abar: abar[t].view(-1, 1, 1, 1).sqrt() * x0 + (1 - abar[t].view(-1, 1, 1, 1)) * n,
     "노이즈의 계수에 제곱근"),
    (lambda x0, t, n, abar: (1 - abar[t].view(-1, 1, 1, 1)).sqrt() * x0 + abar[t].view(-1, 1, 1, 1).sqrt() * n,
     "뒤바뀌었습니다"),
    (lambda x0, t, n, abar: right(x0, t, -n, abar), "노이즈를 빼고"),
    (lambda x0, t, n, abar: right(x0, t, n, abar.cumprod(0)), "누적곱(cumprod)을 한 번 더"),
    (lambda x0, t, n, abar: abar[t[0]].sqrt() * x0 + (1 - abar[t[0]]).sqrt() * n, "첫 그림의 t만"),
    (lambda x0, t, n, abar: right(x0, t - 1, n, abar), "하나 어긋났습니다"),
    (lambda x0, t, n, abar: abar[t].sqrt() * x0 + (1 - abar[t]).sqrt() * n, "(B, 1, 1, 1)로 바꿔야"),
])
def test_q_sample_names_the_mistake(mistake, hint):
    verdict = checks.check_q_sample(mistake)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


def test_q_sample_todo_and_crash():
    assert checks.check_q_sample(None).kind == "todo"

    def blank(x0, t, noise, abar):
        raise NotImplementedError

    assert checks.check_q_sample(blank).kind == "todo"
    crash = checks.check_q_sample(lambda x0, t, noise, abar: 1 / 0)
    assert crash.kind == "wrong" and "ZeroDivisionError" in crash.message
    other = checks.check_q_sample(lambda x0, t, noise, abar: right(x0, t, noise, abar) + 0.5)
    assert other.kind == "wrong" and "t = [0, 10, 500, 999]" in other.message


def measured():
    return {name: snr_above_one_percent(_alphas_cumprod(name)) for name in SCHEDULES}


def test_snr_share_numbers():
    shares = measured()
    assert shares == pytest.approx({"linear": 25.9, "scaled_linear": 35.4, "squaredcos_cap_v2": 49.6})
    assert max(shares, key=shares.get) == "squaredcos_cap_v2"


@pytest.mark.parametrize("convert", [float, round, np.float32, lambda v: torch.tensor(v), lambda v: np.array([v])])
def test_snr_share_accepts_any_number_type_and_rounding(convert):
    verdict = checks.check_snr_share({name: convert(v) for name, v in measured().items()})
    assert verdict and "squaredcos_cap_v2" in verdict.message


@pytest.mark.parametrize(("change", "hint"), [
    (lambda v: v / 100, "퍼센트(0–100)로"),
    (lambda v: 100 - v, "작은* 걸음"),
    (lambda v: v * 10, "걸음의 개수"),
    (lambda v: v + 3, "0.5퍼센트포인트"),
])
def test_snr_share_names_the_mistake(change, hint):
    answer = measured()
    answer["linear"] = change(answer["linear"])
    verdict = checks.check_snr_share(answer)
    assert verdict.kind == "wrong" and hint in verdict.message, verdict.message


def test_snr_share_swapped_missing_todo():
    answer = measured()
    answer["linear"], answer["squaredcos_cap_v2"] = answer["squaredcos_cap_v2"], answer["linear"]
    swapped = checks.check_snr_share(answer)
    assert swapped.kind == "wrong" and "짝을 확인" in swapped.message
    missing = checks.check_snr_share({"linear": 25.9})
    assert missing.kind == "wrong" and "scaled_linear" in missing.message
    assert checks.check_snr_share(None).kind == "todo"
    assert checks.check_snr_share([25.9, 35.4, 49.6]).kind == "wrong"
    assert checks.check_snr_share({**measured(), "linear": "26%"}).kind == "wrong"
