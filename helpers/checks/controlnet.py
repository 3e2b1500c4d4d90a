"""Exercise checkers of 08_controlnet: IoU of two masks, a hands-up pose, a ControlNet skip, the VAE's IoU ceiling.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from helpers.checks.api import Hint, as_number, call, checker, close, expect, expect_tensor
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


def _reference_skip(skip, feature, weight, bias, scale):
    """The skip connection a ControlNet level hands to the UNet: skip + scale * zero_conv(feature)."""
    import torch.nn.functional as F

    return skip + scale * F.conv2d(feature, weight, bias)


@checker
def check_control_skip(fn: Callable) -> str:
    """Return a true Verdict if ``fn(skip, feature, weight, bias, scale)`` is skip + scale * conv1x1(feature).

    ``weight`` is a 1x1 convolution's (C_out, C_in, 1, 1) weight as diffusers stores it,
    ``bias`` its (C_out,) bias. Checked on seeded (2, 4, 8, 8) tensors at scales 0.5 and 1.5
    (within 1e-5, any float dtype), then with the zero convolution's own zero weight and bias,
    where the skip must come back unchanged. Recognises a forgotten skip, a forgotten bias, a
    forgotten scale, the scale applied to the skip too, and a transposed weight.
    Used in 08_controlnet.
    """
    import torch

    generator = torch.Generator().manual_seed(8)
    skip = torch.randn(2, 4, 8, 8, generator=generator)
    feature = torch.randn(2, 4, 8, 8, generator=generator)
    weight = torch.randn(4, 4, 1, 1, generator=generator)
    bias = torch.randn(4, generator=generator)
    for scale in (0.5, 1.5):
        args = (skip.clone(), feature.clone(), weight.clone(), bias.clone(), scale)
        answer = call(fn, *args)
        expect_tensor(answer, tuple(skip.shape), "돌려준 skip",
                      " 1×1 합성곱은 그림의 크기(H, W)를 바꾸지 않습니다.")
        if close(answer, _reference_skip(skip, feature, weight, bias, scale), atol=1e-4):
            continue
        conv = _reference_skip(torch.zeros_like(skip), feature, weight, bias, 1.0)
        mistakes = [
            (scale * conv, "ControlNet의 몫만 돌려주었습니다: 원래 UNet의 skip에 더해야 원래 모델의 정보가 "
                           "그대로 남습니다."),
            (skip + scale * (conv - bias.view(1, -1, 1, 1)), "bias를 빠뜨렸습니다: 합성곱의 출력 채널마다 "
                                                            "bias를 더하세요."),
            (skip + conv, f"scale = {with_particle(scale, '이어도/여도')} 결과가 scale = 1일 때와 같습니다: "
                          "ControlNet의 몫에 scale을 곱하세요."),
            (scale * (skip + conv), "scale을 skip에도 곱했습니다: scale은 ControlNet이 더하는 몫에만 "
                                    "곱합니다(scale = 0이면 원래 UNet 그대로여야 하니까요)."),
            (_reference_skip(skip, feature, weight.transpose(0, 1), bias, scale),
             "weight의 두 축을 바꿔 썼습니다: weight[o, c]는 입력 채널 c가 출력 채널 o에 주는 무게입니다."),
        ]
        for wrong_value, hint in mistakes:
            if close(answer, wrong_value, atol=1e-4):
                raise Hint(hint)
        raise Hint(f"scale = {scale}에서 값이 다릅니다. 1×1 합성곱은 픽셀마다 "
                   "채널을 섞는 일입니다: torch.nn.functional.conv2d(feature, weight, bias)와 비교해 보세요.")
    zero = call(fn, skip.clone(), feature.clone(), torch.zeros_like(weight), torch.zeros_like(bias), 1.0)
    expect_tensor(zero, tuple(skip.shape), "돌려준 skip")
    expect(close(zero, skip), "weight와 bias가 모두 0인데 skip이 바뀌었습니다: 0으로 초기화된 합성곱은 "
                              "아무것도 더하지 않아야 합니다.")
    return ("학습 전의 제로 합성곱은 0을 더하므로 원래 UNet 그대로이고, scale은 "
            "ControlNet이 더하는 몫만 키우거나 줄입니다.")


def _round_trip_ious(count: int) -> dict[str, float]:
    """Mean pose IoU of ``count`` unseen people: drawn, through the mini VAE, and decoded unscaled wrongly."""
    import torch
    from diffusers import AutoencoderKL

    from helpers.control.pose_control import unseen_people
    from helpers.core.config import BUNDLED_MODEL_DIR
    from helpers.core.images import to_pil
    from helpers.core.latents import image_to_tensor
    from helpers.shapes.people import keypoints, render_person
    from helpers.shapes.reader import pose_iou

    vae = AutoencoderKL.from_pretrained(BUNDLED_MODEL_DIR / "vae").eval()
    people = unseen_people(count)
    drawn = [render_person(p, 64) for p in people]
    x = torch.stack([image_to_tensor(picture) for picture in drawn])
    with torch.no_grad():
        mean = vae.encode(x).latent_dist.mean
        decoded = {"vae": vae.decode(mean).sample,
                   "scaled": vae.decode(mean * vae.config.scaling_factor).sample}

    def mean_iou(pictures):
        return float(np.mean([pose_iou(picture, keypoints(p.pose)) for p, picture in zip(people, pictures, strict=True)]))

    result = {"drawn": mean_iou(drawn)}
    for name, tensor in decoded.items():
        result[name] = mean_iou([to_pil((t.clamp(-1, 1) + 1) / 2) for t in tensor])
    return result


@checker
def check_vae_ceiling(answer: Any, count: int = 8) -> str:
    """Return a true Verdict if ``answer`` is the mean pose IoU of ``count`` unseen people after the mini VAE alone.

    The checker re-measures: the first ``count`` people of ``unseen_people``, drawn at 64 px,
    encoded by the bundled mini-sd VAE (the posterior's mean), decoded, read back with
    ``reader.pose_iou``, averaged. Right within 0.02 (a sampled latent instead of the mean, or
    another device, moves the mean IoU by less than that). Recognises a percentage, the IoU of
    the drawn pictures (no VAE), and latents decoded still multiplied by the scaling factor.
    Used in 08_controlnet.
    """
    value = as_number(answer, "IoU")
    if 1 < value <= 100:
        raise Hint(f"{with_particle(f'{value:g}', '은/는')} 백분율 같습니다: IoU는 0과 1 사이의 비율로 주세요.")
    expect(0 <= value <= 1, f"IoU는 0과 1 사이인데 {value:g}입니다.")
    measured = _round_trip_ious(int(count))
    tolerance = 0.02
    if abs(value - measured["vae"]) <= tolerance:
        return (f"다시 재어도 {measured['vae']:.3f}입니다: VAE가 압축했다 풀기만 해도 가는 팔다리의 가장자리가 "
                f"번져 IoU가 이만큼 떨어지니, ControlNet의 IoU도 이 천장을 넘기 어렵습니다.")
    if abs(value - measured["drawn"]) <= tolerance:
        raise Hint(f"VAE를 거치지 않은 그림의 IoU({measured['drawn']:.3f}) 같습니다: 그림을 vae.encode로 "
                   "압축하고 vae.decode로 푼 다음에 재세요.")
    if abs(value - measured["scaled"]) <= tolerance:
        raise Hint("latent에 scaling_factor를 곱한 채로 decode한 것 같습니다: VAE의 decode는 "
                   "encode가 내놓은 값(latent_dist.mean) 그대로를 받습니다.")
    direction = "높습니다" if value > measured["vae"] else "낮습니다"
    raise Hint(f"다시 잰 값보다 {direction} (차이 {abs(value - measured['vae']):.3f}, 허용 {tolerance}). "
               f"unseen_people({count})의 사람들을 64 px로 그려, 한꺼번에 encode → decode하고 "
               "reader.pose_iou의 평균을 내세요.")
