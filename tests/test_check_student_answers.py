"""Checkers never hang or crash on a student's answer: loops are stopped, any numeric type is read.

Every row below is a mistake or an unusual-but-right answer a student may give; each asserts
the verdict and, for a wrong one, the reason the student reads.
"""

from __future__ import annotations

import threading
import time
from math import comb

import numpy as np
import pytest
import torch

from helpers import checks
from helpers.checks import api
from helpers.checks.forward_diffusion import snr_crossing
from helpers.checks.gan_vae_recap import reference_kl
from helpers.responsible.watermark import detection_threshold

LIMIT = 0.5  # seconds: the tests shorten the checkers' time limit


@pytest.fixture
def short_limit(monkeypatch):
    monkeypatch.setattr(api, "TIME_LIMIT_S", LIMIT)


def loop_forever(*_):
    while True:
        pass


def sleep_forever(*_):
    while True:
        time.sleep(0.01)


def swallow_and_loop(*_):
    n = 0
    while True:
        try:
            n += 1
        except Exception:  # a student's broad except must not keep the loop alive
            pass


# --- a loop that never ends -----------------------------------------------------------------


@pytest.mark.parametrize("student", [loop_forever, sleep_forever, swallow_and_loop])
def test_a_loop_that_never_ends_is_stopped_and_reported(student, short_limit, capsys):
    start = time.perf_counter()
    verdict = checks.check_guidance(student)
    seconds = time.perf_counter() - start
    assert verdict.kind == "wrong"
    assert f"함수가 {LIMIT:g}초 안에 끝나지 않았습니다" in verdict.message
    assert "반복문(loop)" in capsys.readouterr().out
    assert seconds < LIMIT + 2


def test_a_normal_return_is_not_disturbed_after_the_limit(short_limit):
    assert checks.check_guidance(lambda u, c, s: u + s * (c - u))
    time.sleep(2 * LIMIT)  # a late watchdog would raise here
    assert sum(range(100_000)) == 4_999_950_000
    assert threading.active_count() < 5  # every watchdog ended


def test_a_slow_but_finishing_function_is_right(short_limit):
    def slow(u, c, s):
        time.sleep(LIMIT / 5)
        return u + s * (c - u)

    assert checks.check_guidance(slow)


def test_the_time_limit_works_from_another_thread(short_limit):
    verdicts = []
    worker = threading.Thread(target=lambda: verdicts.append(checks.check_guidance(loop_forever)))
    worker.start()
    worker.join(timeout=LIMIT + 10)
    assert not worker.is_alive()
    assert verdicts[0].kind == "wrong" and "초 안에 끝나지 않았습니다" in verdicts[0].message


def test_a_time_limit_in_a_checker_with_many_calls(short_limit):
    from helpers.shapes import parse_two_caption

    calls = []

    def loops_on_the_third_call(text):
        calls.append(text)
        if len(calls) == 3:
            loop_forever()
        return tuple(f"a small {o['color']} {o['shape']} at the {o['position']} on a {o['background']} "
                     "background" for o in parse_two_caption(text))

    assert "초 안에 끝나지 않았습니다" in checks.check_split_two(loops_on_the_third_call).message
    assert len(calls) == 3


def test_not_a_function_gets_a_hint():
    verdict = checks.check_guidance("u + s * (c - u)")
    assert verdict.kind == "wrong" and "함수를 넣어야 합니다 (받은 것: str)" in verdict.message


# --- numbers of every type --------------------------------------------------------------------

T = 259  # the linear schedule's first t with SNR < 1


@pytest.mark.parametrize("answer", [
    T, np.int64(T), np.int32(T), np.uint16(T), float(T), np.float32(T), np.array(T), np.array([T]),
    torch.tensor(T), torch.tensor([T]), torch.tensor(float(T), dtype=torch.float16),
], ids=repr)
def test_snr_crossing_accepts_any_whole_number_type(answer):
    assert snr_crossing(__import__("diffusers").DDPMScheduler().alphas_cumprod) == T
    assert checks.check_snr_crossing(answer)


@pytest.mark.parametrize("answer, reason", [
    ("259", "답이 숫자 하나여야 하는데 str '259'입니다."),
    (True, "답이 숫자 하나여야 하는데 bool True입니다."),
    ([T], "답이 숫자 하나여야 하는데 list [259]입니다."),
    (np.array([T, T]), "답이 숫자 하나여야 하는데 모양(shape)이 (2,)인 ndarray입니다."),
    (torch.tensor([[T, T]]), "모양(shape)이 (1, 2)인 Tensor입니다."),
    (float("nan"), "답이 NaN(숫자가 아님)입니다"),
    (np.inf, "답이 무한대(inf)입니다"),
    (T + 0.5, "답은 정수(int)여야 하는데 259.5입니다."),
    (np.int64(T + 1), "t는 260이 아닙니다."),
], ids=repr)
def test_snr_crossing_explains_what_is_wrong(answer, reason):
    verdict = checks.check_snr_crossing(answer)
    assert verdict.kind == "wrong" and reason in verdict.message


def reference_threshold(n_bits, false_alarm):
    return detection_threshold(n_bits, false_alarm)


@pytest.mark.parametrize("convert", [int, np.int64, float, np.float32, torch.tensor, np.array,
                                     lambda k: np.array([k]), lambda k: torch.tensor([k])],
                         ids=["int", "np.int64", "float", "np.float32", "tensor", "0-d array",
                              "1-element array", "1-element tensor"])
def test_detection_threshold_accepts_any_number_type(convert):
    assert checks.check_detection_threshold(lambda n, p: convert(reference_threshold(n, p)))


@pytest.mark.parametrize("student, reason", [
    (lambda n, p: float("nan"), "돌려준 값이 NaN(숫자가 아님)입니다"),
    (lambda n, p: float("inf"), "돌려준 값이 무한대(inf)입니다"),
    (lambda n, p: -np.inf, "무한대(inf)"),
    (lambda n, p: np.arange(n), "숫자 하나여야 하는데 모양(shape)이 (48,)인 ndarray입니다."),
    (lambda n, p: [reference_threshold(n, p)], "숫자 하나여야 하는데 list"),
    (lambda n, p: None, "돌려준 값이 None입니다: 함수 끝에서 return으로 값을 돌려주었나요?"),
    (lambda n, p: reference_threshold(n, p) + 0.5, "정수(int)여야 하는데"),
    (lambda n, p: sum(comb(n, j) for j in range(n + 1)), "n_bits=48, false_alarm=1e-06이면"),
], ids=["nan", "inf", "-inf", "array", "list", "None", "half", "wrong number"])
def test_detection_threshold_gives_a_reason_never_a_crash(student, reason):
    verdict = checks.check_detection_threshold(student)
    assert verdict.kind == "wrong" and reason in verdict.message


def mix(a, b, w):
    return (1 - w) * a + w * b


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16, torch.float32])
def test_mix_embeddings_accepts_every_float_dtype(dtype):
    assert checks.check_mix_embeddings(lambda a, b, w: mix(a.to(dtype), b.to(dtype), w))
    assert checks.check_mix_embeddings(lambda a, b, w: mix(a, b, w).to(dtype))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_mix_embeddings_still_rejects_a_wrong_mix_in_any_dtype(dtype):
    verdict = checks.check_mix_embeddings(lambda a, b, w: mix(a, b, 1 - w).to(dtype))
    assert verdict.kind == "wrong" and "weight = 0.0에서 값이 다릅니다" in verdict.message


def test_tensor_checkers_accept_float64_and_half_answers():
    assert checks.check_kl(lambda mu, lv: reference_kl(mu.double(), lv.double()))
    assert checks.check_kl(lambda mu, lv: reference_kl(mu, lv).half())
    assert checks.check_reparameterize(
        lambda mu, lv: mu.double() + torch.exp(0.5 * lv.double()) * torch.randn_like(mu.double()))
    assert checks.check_guidance(lambda u, c, s: (u + s * (c - u)).half())
    assert checks.check_predicted_x0(lambda z, eps, a: (z.double() - (1 - a).sqrt() * eps) / a.sqrt())
    assert checks.check_instruct_guidance(
        lambda u, i, f, ts, is_: (u + is_ * (i - u) + ts * (f - i)).double())
    assert not checks.check_instruct_guidance(lambda u, i, f, ts, is_: (u + ts * (f - u)).double())


def test_scalar_checkers_accept_numpy_and_torch_numbers():
    from helpers.shapes.reader import mask_iou

    def word_share(probs, token, mask):  # probs: (heads, pixels, tokens); mask: (h, w)
        heat = probs.mean(0)[:, token].reshape(mask.shape)
        return float(heat[torch.as_tensor(mask)].sum() / heat.sum())

    assert checks.check_word_share(lambda p, t, m: np.float32(word_share(p, t, m)))
    assert checks.check_word_share(lambda p, t, m: torch.tensor(word_share(p, t, m)))
    assert checks.check_iou(lambda a, b: np.float64(mask_iou(a, b)))
    assert checks.check_iou(lambda a, b: torch.tensor([mask_iou(a, b)]))
    assert checks.check_img2img_steps(lambda steps, s: np.int64(min(int(steps * s), steps)))
    assert checks.check_img2img_steps(lambda steps, s: torch.tensor(min(int(steps * s), steps)))
    assert checks.check_frechet_1d(lambda m1, s1, m2, s2: np.float64((m1 - m2) ** 2 + (s1 - s2) ** 2))
    assert checks.check_latent_shape(lambda h, w, f, c: torch.Size([c, h // f, w // f]))
    assert checks.check_latent_shape(lambda h, w, f, c: np.array([c, h // f, w // f]))


def test_scalar_checkers_explain_arrays_and_nan():
    verdict = checks.check_img2img_steps(lambda steps, s: np.arange(3))
    assert verdict.kind == "wrong" and "돌려준 걸음 수가 숫자 하나여야 하는데" in verdict.message
    verdict = checks.check_iou(lambda a, b: np.float64("nan"))
    assert verdict.kind == "wrong" and "NaN" in verdict.message
    verdict = checks.check_word_share(lambda probs, token, mask: np.ones(3))
    assert verdict.kind == "wrong" and "숫자 하나여야" in verdict.message


# --- 08: on the shared API, in the styled box ---------------------------------------------------


def test_08_checkers_answer_in_the_styled_box(monkeypatch):
    from helpers.classroom.pose_editor import preset_pose
    from helpers.shapes.reader import mask_iou

    shown = []
    monkeypatch.setattr(api, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    assert checks.check_iou(mask_iou)
    assert not checks.check_iou(None)
    assert not checks.check_hands_up(preset_pose("waving"))
    assert not checks.check_hands_up("arms up")
    assert checks.check_hands_up(preset_pose("arms up"))
    kinds = [data["text/html"].split("workbook-check-")[1].split('"')[0] for data in shown]
    assert kinds == ["correct", "todo", "wrong", "wrong", "correct"]
    assert "손목이 코보다 아래에 있습니다" in shown[2]["text/plain"]
    assert "Pose가 필요합니다 (받은 것: str)" in shown[3]["text/plain"]


# --- in a real Jupyter kernel -------------------------------------------------------------------


@pytest.mark.slow
def test_in_a_kernel_a_checker_shows_its_box_only_and_stops_a_loop():
    """Each cell shows one box and no bare True/False; the loop is stopped inside the kernel."""
    import nbformat
    from nbclient import NotebookClient

    cells = ["import helpers\nfrom helpers.checks import api\napi.TIME_LIMIT_S = 1.0",
             "helpers.checks.check_guidance(None)",
             "def apply_guidance(u, c, s):\n    while True:\n        pass\nhelpers.checks.check_guidance(apply_guidance)",
             "helpers.checks.check_guidance(lambda u, c, s: u + s * (c - u))"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    outputs = [cell["outputs"] for cell in notebook.cells]
    assert outputs[0] == []
    for cell_outputs, kind in zip(outputs[1:], ["todo", "wrong", "correct"], strict=True):
        assert [o["output_type"] for o in cell_outputs] == ["display_data"], cell_outputs
        assert f"workbook-check-{kind}" in cell_outputs[0]["data"]["text/html"]
    assert "1초 안에 끝나지 않았습니다" in outputs[2][0]["data"]["text/plain"]


# --- every checker, every odd answer --------------------------------------------------------------

ODD_RETURNS = {"None": None, "text": "x", "nan": float("nan"), "list": [1, 2], "dict": {}, "object": object(),
               "bool": True, "int tensor": torch.tensor(3), "vector": torch.ones(3), "matrix": np.ones((2, 2)),
               "big nan tensor": torch.full((1, 77, 768), float("nan"))}
ODD_ANSWERS = {"text": "x", "nan": float("nan"), "list": [1], "dict": {}, "object": object(),
               "function": lambda: 0, "tensor": torch.ones(2), "array": np.ones(3)}
CHECKERS = [name for name in checks.__all__ if name.startswith("check_")]  # not score
#: Checkers that take a value (not a function), with the context a measurement checker needs: an
#: odd answer must be turned away with a hint before any context is used, so None stands for it.
TAKES_A_VALUE = {"check_snr_crossing": (), "check_hands_up": (), "check_fewest_steps": (),
                 "check_snr_share": (), "check_vae_ceiling": (), "check_latent_ratio": (None,),
                 "check_colour_switch": (None, None, None, None), "check_decided_step": (None,),
                 "check_x0_settles": (None, "a circle", 4, 5.0, 0), "check_enough_steps": (None, ["a"]),
                 "check_mix_crossing": (4, None), "check_near_misses": ([None], [None]),
                 "check_most_changed_layer": (None,), "check_lowest_jpeg_quality": ([None], [50]),
                 "check_reflow_straightness": (None,)}


def returning(value):
    return lambda *_: value


@pytest.mark.parametrize("name", CHECKERS)
def test_no_checker_crashes_on_an_odd_answer(name, short_limit, capsys):
    """Each odd answer gets a false Verdict with a short reason, never an exception."""
    checker = getattr(checks, name)
    extra = TAKES_A_VALUE.get(name, ())
    if name in TAKES_A_VALUE:
        answers = ODD_ANSWERS
    else:
        answers = {label: returning(value) for label, value in ODD_RETURNS.items()}
        answers["crash"] = lambda *_: 1 / 0
    for label, answer in answers.items():
        verdict = checker(answer, *extra)
        assert isinstance(verdict, api.Verdict) and not verdict, (label, verdict)
        assert verdict.kind == "wrong" and 0 < len(verdict.message) < 400, (label, verdict)
        assert "예상하지 못한 오류" not in verdict.message, (label, verdict)
