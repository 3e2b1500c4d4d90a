"""Checkers of 10_responsible_generation added for #19: right answers pass, typical wrong ones get their own hint."""

from __future__ import annotations

import random

import numpy as np
import pytest

from helpers import checks, shapes
from helpers.responsible import watermark


def read_bits(values, scale, n_bits):
    votes = [1 if v % scale > scale / 2 else 0 for v in values]
    return [int(np.mean(votes[k::n_bits]) >= 0.5) for k in range(n_bits)]


def test_check_read_bits_passes_the_right_answer_in_any_container():
    assert checks.check_read_bits(read_bits)
    assert checks.check_read_bits(lambda v, s, n: np.array(read_bits(v, s, n), dtype=bool))
    assert checks.check_read_bits(lambda v, s, n: tuple(np.int64(b) for b in read_bits(v, s, n)))


def test_check_read_bits_names_each_common_mistake():
    def runs(v, s, n):
        size = len(v) // n
        return [int(np.mean([x % s > s / 2 for x in v[k * size:(k + 1) * size]]) > 0.5) for k in range(n)]

    cases = {
        "뒤집혔습니다": lambda v, s, n: [1 - b for b in read_bits(v, s, n)],
        "처음 블록들만": lambda v, s, n: [int(x % s > s / 2) for x in v[:n]],
        "이어진 묶음": runs,
        "몫의 홀짝": lambda v, s, n: [int((x // s) % 2) for x in v[:n]],
    }
    for words, answer in cases.items():
        verdict = checks.check_read_bits(answer)
        assert verdict.kind == "wrong", words
        assert words in verdict.message, (words, verdict.message)


def test_check_read_bits_todo_crash_and_wrong_length():
    assert checks.check_read_bits(None).kind == "todo"
    verdict = checks.check_read_bits(lambda v, s, n: 1 / 0)
    assert verdict.kind == "wrong" and "ZeroDivisionError" in verdict.message
    verdict = checks.check_read_bits(lambda v, s, n: read_bits(v, s, n)[:-1])
    assert verdict.kind == "wrong" and "48개" in verdict.message
    verdict = checks.check_read_bits(lambda v, s, n: None)
    assert verdict.kind == "wrong" and "0과 1" in verdict.message


@pytest.fixture(scope="module")
def marked_pictures():
    return [watermark.embed_watermark(watermark.enlarge(shapes.render(shapes.random_shape(random.Random(i)))))
            for i in range(2)]


def test_check_lowest_jpeg_quality_re_measures(marked_pictures):
    qualities = (90, 80, 75, 50)
    from helpers.responsible.image_edits import jpeg

    threshold = watermark.detection_threshold(48, 1e-6)
    detected = {q: all(watermark.bit_accuracy(watermark.read_watermark(jpeg(p, q))) * 48 >= threshold
                       for p in marked_pictures) for q in qualities}
    lowest = min(q for q in qualities if detected[q])
    assert detected[90] and not detected[50]  # the measurement has an answer inside the range
    assert checks.check_lowest_jpeg_quality(lowest, marked_pictures, qualities)
    assert checks.check_lowest_jpeg_quality(np.int64(lowest), marked_pictures, list(qualities))
    assert checks.check_lowest_jpeg_quality(float(lowest), marked_pictures, qualities)
    highest_failing = max(q for q in qualities if not detected[q])
    verdict = checks.check_lowest_jpeg_quality(highest_failing, marked_pictures, qualities)
    assert verdict.kind == "wrong" and "실패하는* 가장 높은" in verdict.message
    assert str(lowest) not in verdict.message.replace(str(highest_failing), "")  # no answer given away
    verdict = checks.check_lowest_jpeg_quality(90, marked_pictures, qualities)
    assert verdict.kind == "wrong" and "그보다 낮은 품질에서도" in verdict.message
    verdict = checks.check_lowest_jpeg_quality(85, marked_pictures, qualities)
    assert verdict.kind == "wrong" and "중 하나가 아닙니다" in verdict.message
    assert checks.check_lowest_jpeg_quality(None, marked_pictures, qualities).kind == "todo"
    verdict = checks.check_lowest_jpeg_quality("80", marked_pictures, qualities)
    assert verdict.kind == "wrong" and "숫자 하나" in verdict.message


def test_check_lowest_jpeg_quality_on_unmarked_pictures():
    plain = [watermark.enlarge(shapes.render(shapes.random_shape(random.Random(0))))]
    verdict = checks.check_lowest_jpeg_quality(90, plain, (95, 90))
    assert verdict.kind == "wrong" and "워터마크를 넣었나요" in verdict.message
