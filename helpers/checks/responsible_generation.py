"""Exercise checkers of 10_responsible_generation: a JPEG round trip, the 1-D Fréchet distance, a watermark's threshold, its bits, and how much JPEG it survives.

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


def block_values(image, scale_channel: int = 1, block: int = 4) -> np.ndarray:
    """Return the largest singular value of each 4x4 block's DCT in the U channel's DWT band, in reading order.

    Exactly what ``invisible-watermark``'s ``dwtDctSvd`` reads (its ``decode_frame``): the picture
    in YUV, a Haar wavelet transform (DWT) of the U channel, then the 4x4 blocks row by row.
    Used by helpers.checks.responsible_generation (no notebook calls it).
    """
    import cv2
    import pywt

    from helpers.responsible.watermark import _bgr

    bgr = _bgr(image)
    rows, cols = bgr.shape[:2]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    band, _ = pywt.dwt2(yuv[: rows // 4 * 4, : cols // 4 * 4, scale_channel], "haar")
    values = []
    for i in range(band.shape[0] // block):
        for j in range(band.shape[1] // block):
            piece = band[i * block:(i + 1) * block, j * block:(j + 1) * block]
            values.append(np.linalg.svd(cv2.dct(piece), compute_uv=False)[0])
    return np.array(values)


def _reference_bits(values, scale: float, n_bits: int) -> list[int]:
    """The library's decision: a block votes 1 if its value sits in the upper half of its step."""
    votes = (np.asarray(values, dtype=float) % scale) > 0.5 * scale
    return [int(votes[k::n_bits].mean() * 255 > 127) for k in range(n_bits)]


def _as_bits(value, n_bits: int) -> list[int]:
    """Return a student's bits as a list of 0/1, or raise a Hint saying why they are not."""
    from helpers.checks.api import Hint, brief

    try:
        bits = [int(b) for b in np.asarray(value).reshape(-1)]
    except (TypeError, ValueError):
        raise Hint(f"0과 1의 리스트를 돌려주어야 합니다 (받은 것: {brief(value)}).") from None
    if value is None or len(bits) != n_bits or any(b not in (0, 1) for b in bits):
        raise Hint(f"0과 1이 {n_bits}개 든 리스트를 돌려주어야 합니다 (받은 것: {brief(value)}).")
    return bits


@checker
def check_read_bits(fn: Callable) -> str:
    """Return a true Verdict if ``fn(values, scale, n_bits)`` decides a ``dwtDctSvd`` watermark's bits.

    ``values`` are the blocks' largest singular values in reading order; block i carries bit
    i % n_bits. Compared with the library's decision (``invisible-watermark``: each block votes
    1 when value % scale is above scale / 2, each bit is the majority of its votes) on seeded
    noisy votes and on a real watermarked picture after JPEG q75, whose answer must equal
    ``helpers.responsible.watermark.read_watermark``. The first block alone (no vote), bits
    read in runs of blocks instead of every n_bits-th block, and the flipped comparison each get
    their own hint.
    Used in 10_responsible_generation.
    """
    from helpers.responsible.image_edits import jpeg
    from helpers.responsible.watermark import (
        WATERMARK_BITS,
        embed_watermark,
        enlarge,
        read_watermark,
    )
    from helpers.shapes import Shape, render

    rng = np.random.default_rng(10)
    message = list(WATERMARK_BITS)
    n_bits, scale = len(message), 36.0
    # 30 votes per bit; a third of the votes pushed into the wrong half of their step
    steps = rng.integers(0, 8, size=30 * n_bits)
    bits = np.array([message[i % n_bits] for i in range(len(steps))])
    offsets = np.where(rng.random(len(steps)) < 0.35, 0.75 - 0.5 * bits, 0.25 + 0.5 * bits)
    noisy = (steps + offsets + rng.uniform(-0.2, 0.2, len(steps))) * scale
    picture = embed_watermark(enlarge(render(Shape("circle", "large", "red", "center", "blue"))),
                              message)
    edited = jpeg(picture, 75)
    cases = ((f"잡음 섞인 값 {len(noisy)}개", noisy, None), ("JPEG q75 뒤의 워터마크 그림", block_values(edited),
                                                read_watermark(edited, n_bits)))
    for what, values, library in cases:
        expected = _reference_bits(values, scale, n_bits)
        if library is not None:
            assert expected == library, "the checker's reference must be the library's decision"
        answer = _as_bits(call(fn, values.copy(), scale, n_bits), n_bits)
        votes = (values % scale) > 0.5 * scale
        runs = len(values) // n_bits
        hint = ""
        if answer == [1 - b for b in expected]:
            hint = " 모든 비트가 뒤집혔습니다: 값이 칸(scale)의 *위쪽* 절반에 있으면 1입니다."
        elif answer == [int(v) for v in votes[:n_bits]]:
            hint = (" 처음 블록들만 읽었습니다: 같은 비트가 그림 전체에 여러 번 들어 있으니 "
                    "그 블록들의 표를 모아 다수결로 정하세요.")
        elif answer == [int(votes[k * runs:(k + 1) * runs].mean() > 0.5) for k in range(n_bits)]:
            hint = (" 블록을 이어진 묶음으로 나누었습니다: 비트는 블록마다 *차례로 돌아가며* 들어갑니다 "
                    "(블록 i에는 비트 i % n_bits).")
        elif answer == [int((v // scale) % 2) for v in values[:n_bits]]:
            hint = " 몫의 홀짝이 아니라 나머지(value % scale)가 칸의 어느 절반에 있는지를 봅니다."
        mismatches = sum(a != b for a, b in zip(answer, expected, strict=True))
        expect(mismatches == 0, f"{what}에서 {n_bits}비트 중 {mismatches}비트가 다릅니다.{hint}")
    return ("라이브러리와 같은 비트를 읽었습니다: 블록 하나하나는 편집에 흔들려도, "
            "여러 블록의 다수결이 비트를 지킵니다.")


@checker
def check_lowest_jpeg_quality(answer, pictures, qualities) -> str:
    """Return a true Verdict if ``answer`` is the lowest JPEG quality at which every picture's watermark is still detected.

    Re-measured on the same ``pictures`` (watermarked with ``dwtDctSvd`` and the 48-bit message)
    over ``qualities``: "detected" means at least ``detection_threshold(48, 1e-6)`` bits right.
    JPEG and the watermark reader are deterministic, so the tolerance is zero: the answer must be
    exactly the re-measured quality (an int or any whole number type). The highest failing
    quality, any other failing quality and a passing quality that is not the lowest each get
    their own hint, none of which gives the answer away.
    Used in 10_responsible_generation.
    """
    from helpers.responsible.image_edits import jpeg
    from helpers.responsible.watermark import (
        WATERMARK_BITS,
        bit_accuracy,
        detection_threshold,
        read_watermark,
    )

    value = as_integer(answer, "답한 품질")
    qualities = sorted(int(q) for q in qualities)
    expect(value in qualities, f"{with_particle(value, '은/는')} 잰 품질 {qualities} 중 하나가 아닙니다.")
    n_bits = len(WATERMARK_BITS)
    threshold = detection_threshold(n_bits, 1e-6)
    detected = {}
    for quality in qualities:
        reads = [read_watermark(jpeg(p, quality), n_bits) for p in pictures]
        detected[quality] = all(bit_accuracy(r) * n_bits >= threshold for r in reads)
    passing = [q for q in qualities if detected[q]]
    expect(passing, "어느 품질에서도 모든 그림이 검출되지 않았습니다: 그림에 워터마크를 넣었나요?")
    lowest = min(passing)
    failing = [q for q in qualities if not detected[q]]
    if failing and value == max(failing):
        hint = (f"품질 {value}에서는 검출되지 않는 그림이 있습니다: 그것은 검출이 *실패하는* 가장 높은 "
                "품질입니다. 아직 모든 그림이 검출되는 품질을 답하세요.")
    elif not detected[value]:
        hint = f"품질 {value}에서는 검출되지 않는 그림이 있습니다."
    else:
        hint = (f"품질 {value}에서는 모두 검출되지만, 잰 품질 중 그보다 낮은 품질에서도 모든 그림이 "
                "검출됩니다.")
    expect(value == lowest, f"다시 재어 보니 {hint}")
    below = f" 그보다 세게 압축한 품질 {max(failing)}에서는 놓치는 그림이 생깁니다." if failing else ""
    return f"JPEG 품질 {lowest}까지는 모든 그림의 워터마크가 검출됩니다.{below}"
