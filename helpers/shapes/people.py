"""People in poses: the Shapes world's stick-built figures and their OpenPose guides.

Spec: ``docs/shapes-world.md``, section "Figures". Coordinates are fractions of
the canvas side W; keypoints follow the 18-point OpenPose (COCO) order.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from helpers.shapes import COLORS, PALETTE, SUPERSAMPLE, check_side
from helpers.shapes.world import supersampled

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
# Limbs drawn in the picture of a person: (1,2) … (12,13) and (1,0).
BODY_LIMBS: tuple[tuple[int, int], ...] = LIMBS[:13]
OPENPOSE_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)

# Body proportions (fractions of W).
NECK_TO_NOSE = 0.10
EYE_DX, EYE_DY = 0.02, 0.02
EAR_DX, EAR_DY = 0.04, 0.01
SHOULDER_DX = 0.09
UPPER_ARM, FOREARM = 0.13, 0.12
HIP_DX, HIP_DY = 0.06, 0.25
THIGH, SHIN = 0.16, 0.15
LIMB_WIDTH = 0.045
HEAD_RADIUS = 0.065
GUIDE_LINE_WIDTH = 0.02
GUIDE_DOT_RADIUS = 0.015

# Pose ranges (degrees) from the spec.
NECK_X = (0.40, 0.60)
NECK_Y = (0.24, 0.34)
UPPER_ARM_RANGE = (0.0, 170.0)
FOREARM_BEND = 130.0
THIGH_RANGE = (-35.0, 35.0)
SHIN_BEND = 70.0


@dataclass(frozen=True)
class Pose:
    """A pose: the neck's position plus joint angles in degrees.

    Arm angles are measured from hanging straight down, outwards to the body's own
    side (the person faces the viewer, so their right is the picture's left).
    Bends are signed, relative to the limb above. Thighs are measured from vertical,
    positive outwards.
    Used by helpers.checks.controlnet, helpers.classroom.pose_editor, helpers.shapes.people (no
    notebook calls it).
    """

    neck_x: float = 0.5
    neck_y: float = 0.29
    right_upper_arm: float = 20.0
    right_forearm: float = 0.0
    left_upper_arm: float = 20.0
    left_forearm: float = 0.0
    right_thigh: float = 5.0
    right_shin: float = 0.0
    left_thigh: float = 5.0
    left_shin: float = 0.0

    def __post_init__(self) -> None:
        checks = [
            ("neck_x", self.neck_x, NECK_X),
            ("neck_y", self.neck_y, NECK_Y),
            ("right_upper_arm", self.right_upper_arm, UPPER_ARM_RANGE),
            ("left_upper_arm", self.left_upper_arm, UPPER_ARM_RANGE),
            ("right_forearm", self.right_forearm, (-FOREARM_BEND, FOREARM_BEND)),
            ("left_forearm", self.left_forearm, (-FOREARM_BEND, FOREARM_BEND)),
            ("right_thigh", self.right_thigh, THIGH_RANGE),
            ("left_thigh", self.left_thigh, THIGH_RANGE),
            ("right_shin", self.right_shin, (-SHIN_BEND, SHIN_BEND)),
            ("left_shin", self.left_shin, (-SHIN_BEND, SHIN_BEND)),
        ]
        for name, value, (low, high) in checks:
            if not low <= value <= high:
                raise ValueError(f"{name}={value} is outside the spec's range {low}..{high}")


def _step(start: tuple[float, float], angle_deg: float, length: float,
          side: int) -> tuple[float, float]:
    """Move ``length`` from ``start`` at ``angle_deg`` from straight down, towards ``side``.

    ``side`` is -1 for the picture's left (the body's right), +1 for its right.
    """
    a = math.radians(angle_deg)
    return start[0] + side * length * math.sin(a), start[1] + length * math.cos(a)


def keypoints(pose: Pose) -> np.ndarray:
    """Return the 18 OpenPose keypoints of ``pose`` as an (18, 2) array of fractions of W.

    Used in 07_failure_cases, 08_controlnet.
    """
    neck = (pose.neck_x, pose.neck_y)
    nose = (neck[0], neck[1] - NECK_TO_NOSE)
    pts: list[tuple[float, float]] = [(0.0, 0.0)] * 18
    pts[0], pts[1] = nose, neck
    for side, (shoulder_i, elbow_i, wrist_i, hip_i, knee_i, ankle_i, eye_i, ear_i), arm, fore, \
            thigh, shin in (
            (-1, (2, 3, 4, 8, 9, 10, 14, 16), pose.right_upper_arm, pose.right_forearm,
             pose.right_thigh, pose.right_shin),
            (+1, (5, 6, 7, 11, 12, 13, 15, 17), pose.left_upper_arm, pose.left_forearm,
             pose.left_thigh, pose.left_shin)):
        shoulder = (neck[0] + side * SHOULDER_DX, neck[1])
        elbow = _step(shoulder, arm, UPPER_ARM, side)
        wrist = _step(elbow, arm + fore, FOREARM, side)
        hip = (neck[0] + side * HIP_DX, neck[1] + HIP_DY)
        knee = _step(hip, thigh, THIGH, side)
        ankle = _step(knee, thigh + shin, SHIN, side)
        pts[shoulder_i], pts[elbow_i], pts[wrist_i] = shoulder, elbow, wrist
        pts[hip_i], pts[knee_i], pts[ankle_i] = hip, knee, ankle
        pts[eye_i] = (nose[0] + side * EYE_DX, nose[1] - EYE_DY)
        pts[ear_i] = (nose[0] + side * EAR_DX, nose[1] - EAR_DY)
    return np.array(pts, dtype=np.float64)


def inside_canvas(points: np.ndarray) -> bool:
    """Return True when every keypoint lies inside the canvas (0..1 in x and y).

    Used by helpers.checks.controlnet, helpers.classroom.pose_editor, helpers.shapes.people (no
    notebook calls it).
    """
    return bool(np.all((points >= 0.0) & (points <= 1.0)))


def random_pose(rng: random.Random, max_tries: int = 1000) -> Pose:
    """Return a random pose within the spec's ranges whose keypoints all stay on the canvas.

    Used by helpers.shapes.people (no notebook calls it).
    """
    for _ in range(max_tries):
        pose = Pose(
            neck_x=rng.uniform(*NECK_X),
            neck_y=rng.uniform(*NECK_Y),
            right_upper_arm=rng.uniform(*UPPER_ARM_RANGE),
            right_forearm=rng.uniform(-FOREARM_BEND, FOREARM_BEND),
            left_upper_arm=rng.uniform(*UPPER_ARM_RANGE),
            left_forearm=rng.uniform(-FOREARM_BEND, FOREARM_BEND),
            right_thigh=rng.uniform(*THIGH_RANGE),
            right_shin=rng.uniform(-SHIN_BEND, SHIN_BEND),
            left_thigh=rng.uniform(*THIGH_RANGE),
            left_shin=rng.uniform(-SHIN_BEND, SHIN_BEND),
        )
        if inside_canvas(keypoints(pose)):
            return pose
    raise RuntimeError(f"no pose inside the canvas after {max_tries} tries")


@dataclass(frozen=True)
class Person:
    """A person in a pose: colour, background and pose.

    Used in 08_controlnet.
    """

    color: str
    background: str
    pose: Pose = Pose()

    def __post_init__(self) -> None:
        for name, value in (("color", self.color), ("background", self.background)):
            if value not in PALETTE:
                raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(COLORS)}")
        if self.color == self.background:
            raise ValueError("the person's colour must differ from the background")


def random_person(rng: random.Random) -> Person:
    """Return a random person: colour, a different background and a random pose.

    Used in 07_failure_cases.
    """
    color = rng.choice(COLORS)
    background = rng.choice([c for c in COLORS if c != color])
    return Person(color, background, random_pose(rng))


def person_caption(person: Person, keep: tuple[str, ...] = ("color", "background")) -> str:
    """Return ``a {color} person on a {background} background`` or a partial of it.

    Used in 07_failure_cases.
    """
    words = ["a"]
    if "color" in keep:
        words.append(person.color)
    words.append("person")
    if "background" in keep:
        words += ["on", "a", person.background, "background"]
    return " ".join(words)


def _line(draw: ImageDraw.ImageDraw, a: np.ndarray, b: np.ndarray, width: float,
          fill: tuple[int, int, int] | int, round_ends: bool) -> None:
    draw.line([tuple(a), tuple(b)], fill=fill, width=max(1, round(width)))
    if round_ends:
        r = width / 2
        for x, y in (a, b):
            draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)


def _draw_body(draw: ImageDraw.ImageDraw, pts: np.ndarray, big: int,
               fill: tuple[int, int, int] | int) -> None:
    p = pts * big
    for i, j in BODY_LIMBS:
        _line(draw, p[i], p[j], LIMB_WIDTH * big, fill, round_ends=True)
    draw.polygon([tuple(p[k]) for k in (2, 5, 11, 8)], fill=fill)
    r = HEAD_RADIUS * big
    draw.ellipse([p[0][0] - r, p[0][1] - r, p[0][0] + r, p[0][1] + r], fill=fill)


def render_person(person: Person, size: int = 64) -> Image.Image:
    """Return the picture of a person, rendered at 4x and Lanczos-downsampled.

    Used in 07_failure_cases, 08_controlnet.
    """
    return supersampled(size, person.background,
                        lambda pen, big: _draw_body(pen, keypoints(person.pose), big, PALETTE[person.color]))


def person_mask(points: np.ndarray, size: int = 64) -> np.ndarray:
    """Return the boolean mask of the body drawn from ``points`` by the spec's rules.

    Used in 08_controlnet.
    """
    size = check_side(size)
    big = size * SUPERSAMPLE
    canvas = Image.new("L", (big, big), 0)
    _draw_body(ImageDraw.Draw(canvas), np.asarray(points, dtype=np.float64), big, 255)
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small) >= 128


def render_pose_guide(points: np.ndarray, size: int = 64) -> Image.Image:
    """Return the OpenPose guide: coloured limbs and keypoint dots on black.

    Used in 07_failure_cases, 08_controlnet.
    """
    size = check_side(size)
    points = np.asarray(points, dtype=np.float64)
    if points.shape != (18, 2):
        raise ValueError(f"expected 18 keypoints as an (18, 2) array, got shape {points.shape}")
    big = size * SUPERSAMPLE
    canvas = Image.new("RGB", (big, big), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    p = points * big
    for index, (i, j) in enumerate(LIMBS):
        _line(draw, p[i], p[j], GUIDE_LINE_WIDTH * big, OPENPOSE_COLORS[index], round_ends=False)
    r = GUIDE_DOT_RADIUS * big
    for index, (x, y) in enumerate(p):
        draw.ellipse([x - r, y - r, x + r, y + r], fill=OPENPOSE_COLORS[index])
    return canvas.resize((size, size), Image.Resampling.LANCZOS)
