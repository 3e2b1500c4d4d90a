"""Exercise checkers of 08_controlnet: the IoU of two masks and a hands-up pose.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from helpers.checks.api import Hint, as_number, call, checker, expect
from helpers.checks.korean_particles import with_particle


@checker
def check_iou(fn: Callable) -> str:
    """Return a true Verdict if ``fn(a, b)`` is the intersection over union of two boolean masks.

    Checked on overlapping, disjoint, identical and empty 64x64 masks (both empty: 1.0).
    Used in 08_controlnet.
    """
    a = np.zeros((64, 64), dtype=bool)
    b = np.zeros((64, 64), dtype=bool)
    a[10:30, 10:30] = True  # 400 pixels
    b[20:40, 20:40] = True  # 400 pixels, 100 shared: IoU 100 / 700
    far = np.zeros((64, 64), dtype=bool)
    far[50:60, 50:60] = True
    empty = np.zeros((64, 64), dtype=bool)
    cases = [((a, b), 100 / 700, "겹치는 두 네모"), ((a, far), 0.0, "떨어진 두 네모"),
             ((a, a), 1.0, "같은 마스크"), ((empty, empty), 1.0, "둘 다 빈 마스크")]
    for (x, y), expected, name in cases:
        hint = " 둘 다 비었으면 합집합이 0이니 따로 1.0을 돌려주세요." if name == "둘 다 빈 마스크" else ""
        answer = call(fn, x.copy(), y.copy())
        try:
            value = as_number(answer, f"{name}의 IoU")
        except Hint as reason:
            raise Hint(f"{reason}{hint}") from None
        expect(abs(value - expected) <= 1e-6,
               f"{name}: {with_particle(f'{expected:.4f}', '이어야/여야')} 하는데 {value:.4f}입니다.{hint}")
    return "IoU는 자세 충실도(pose adherence)를 재는 자입니다."


@checker
def check_hands_up(pose: Any) -> str:
    """Return a true Verdict if ``pose`` (a helpers.shapes.people.Pose) has both wrists above the nose.

    Used in 08_controlnet.
    """
    from helpers.shapes.people import Pose, inside_canvas, keypoints

    expect(isinstance(pose, Pose),
           f"Pose가 필요합니다 (받은 것: {type(pose).__name__}): edit_pose(...)의 결과를 넣으세요.")
    points = keypoints(pose)
    expect(inside_canvas(points), "손이나 발이 그림 밖으로 나갑니다: 목의 자리나 각도를 조금 줄이세요.")
    nose_y = points[0, 1]
    low = [name for name, i in (("오른쪽", 4), ("왼쪽", 7)) if points[i, 1] >= nose_y]
    expect(not low, f"{', '.join(low)} 손목이 코보다 아래에 있습니다 (y는 아래로 커집니다). "
                    "upper_arm 각도를 150도 넘게 올려 보세요.")
    return "두 손이 머리 위에 있습니다."
