"""Exercise checkers of 10_responsible_generation: a JPEG round trip, the 1-D Fréchet distance, a watermark's threshold.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks.api import as_integer, as_number, call, checker, expect
from helpers.checks.korean_particles import with_particle


@checker
def check_jpeg_edit(fn: Callable) -> str:
    """Return a true Verdict if ``fn(image, quality)`` saves ``image`` as a JPEG at ``quality`` and reads it back.

    Compared pixel for pixel with ``helpers.responsible.image_edits.jpeg`` at qualities 90 and 30 on a
    rendered Shapes picture.
    Used in 10_responsible_generation.
    """
    from PIL import Image

    from helpers.responsible.image_edits import jpeg
    from helpers.shapes import Shape, render

    picture = render(Shape("triangle", "large", "yellow", "left", "purple"))
    for quality in (90, 30):
        answer = call(fn, picture.copy(), quality)
        expect(isinstance(answer, Image.Image),
               f"PIL 그림을 돌려주어야 합니다 (받은 것: {type(answer).__name__}). "
               "Image.open(buffer)로 다시 읽으세요.")
        got = np.asarray(answer.convert("RGB"), dtype=int)
        expect(got.shape == (64, 64, 3), f"크기가 64×64여야 하는데 {answer.size}입니다.")
        expect(not np.array_equal(got, np.asarray(picture, dtype=int)),
               "그림이 하나도 바뀌지 않았습니다: format=\"JPEG\"로 저장했나요?")
        expected = np.asarray(jpeg(picture, quality), dtype=int)
        expect(np.array_equal(got, expected),
               f"quality={quality}에서 픽셀이 다릅니다 (평균 차이 {np.abs(got - expected).mean():.2f}). "
               "save(buffer, format=\"JPEG\", quality=quality)로 저장하고 buffer.seek(0) 뒤에 여세요.")
    return "채팅 앱과 SNS가 그림마다 하는 일이 바로 이것입니다."


@checker
def check_frechet_1d(fn: Callable) -> str:
    """Return a true Verdict if ``fn(m1, s1, m2, s2)`` is the Fréchet distance between N(m1, s1²) and N(m2, s2²).

    The 1-D case of ``helpers.responsible.frechet.frechet_distance``: (m1 - m2)² + (s1 - s2)², with s the
    standard deviations.
    Used in 10_responsible_generation.
    """
    from helpers.responsible.frechet import frechet_distance

    for m1, s1, m2, s2 in ((0.0, 1.0, 0.0, 1.0), (1.0, 2.0, 4.0, 2.0), (0.0, 1.0, 0.0, 3.0),
                           (2.0, 0.5, -1.0, 1.5)):
        value = as_number(call(fn, m1, s1, m2, s2), "돌려준 거리")
        expected = frechet_distance([m1], [[s1 * s1]], [m2], [[s2 * s2]])
        hint = ""
        if abs(value - ((m1 - m2) ** 2 + (s1 * s1 - s2 * s2) ** 2)) < 1e-9 and s1 != s2:
            hint = " 분산(s²)이 아니라 표준편차(s)의 차이를 제곱합니다."
        elif abs(value - expected ** 0.5) < 1e-9:
            hint = " FID가 보고하는 것은 거리의 제곱입니다: 제곱근을 씌우지 마세요."
        expect(abs(value - expected) < 1e-9,
               f"{with_particle(f'N({m1}, {s1}²)', '과/와')} {with_particle(f'N({m2}, {s2}²)', '이면/면')} "
               f"{expected:g}인데 {value:g}입니다.{hint}")
    return "평균의 차이와 퍼짐의 차이, 둘 다 거리에 들어갑니다."


@checker
def check_detection_threshold(fn: Callable) -> str:
    """Return a true Verdict if ``fn(n_bits, false_alarm)`` is the fewest matching bits for a watermark verdict.

    The smallest k with P(Binomial(n_bits, 1/2) >= k) <= false_alarm, compared with
    ``helpers.responsible.watermark.detection_threshold``.
    Used in 10_responsible_generation.
    """
    from helpers.responsible.watermark import detection_threshold

    for n_bits, false_alarm in ((48, 1e-6), (48, 0.01), (32, 1e-3), (10, 0.5), (136, 1e-9)):
        answer = as_integer(call(fn, n_bits, false_alarm), "돌려준 값")
        expected = detection_threshold(n_bits, false_alarm)
        hint = ""
        if answer == expected - 1:
            hint = " 하나 모자랍니다: 꼬리 확률 P(일치 ≥ k)가 false_alarm *이하*가 되는 가장 작은 k입니다."
        elif answer == expected + 1:
            hint = " 하나 많습니다: 그보다 하나 작은 k에서도 꼬리 확률이 이미 충분히 작습니다."
        expect(answer == expected,
               f"n_bits={n_bits}, {with_particle(f'false_alarm={false_alarm:g}', '이면/면')} "
               f"{expected}인데 {answer}입니다.{hint}")
    return "48비트 중 이만큼 맞으면, 표시 없는 그림이 우연히 통과할 확률은 거의 없습니다."
