"""Pose presets and editor, Canny edges, the ControlNet training script and pose evaluation."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from helpers.classroom.pose_editor import (
    POSE_PRESETS,
    edit_pose,
    pose_editor,
    pose_picture,
    preset_pose,
)
from helpers.control.edges import canny_edges
from helpers.control.pose_control import pose_scores, unseen_people
from helpers.shapes import Shape, render
from helpers.shapes.people import Person, inside_canvas, keypoints, random_person, render_person


@pytest.mark.parametrize("name", list(POSE_PRESETS))
def test_presets_stay_inside_the_canvas(name):
    assert inside_canvas(keypoints(preset_pose(name)))


def test_arms_up_puts_both_wrists_above_the_nose():
    points = keypoints(preset_pose("arms up"))
    assert points[4, 1] < points[0, 1] and points[7, 1] < points[0, 1]


def test_unknown_preset_and_field_are_clear_errors():
    with pytest.raises(ValueError, match="presets: standing"):
        preset_pose("moonwalk")
    with pytest.raises(ValueError, match="unknown pose field"):
        edit_pose(preset_pose("standing"), left_elbow=10)
    with pytest.raises(ValueError, match="outside the spec's range"):
        edit_pose(preset_pose("standing"), left_upper_arm=200)


def test_pose_picture_is_the_openpose_guide():
    guide = np.asarray(pose_picture(preset_pose("standing"), 64))
    assert guide.shape == (64, 64, 3)
    assert (guide.sum(axis=-1) == 0).mean() > 0.8  # mostly black


def test_editor_redraws_and_reports_each_new_pose():
    seen = []
    editor = pose_editor(on_change=seen.append, size=64)
    first = editor.children[1].children[0].value
    editor.sliders["left_upper_arm"].value = 150.0
    assert editor.pose.left_upper_arm == 150.0 and seen[-1] == editor.pose
    assert editor.children[1].children[0].value != first
    editor.menu.value = "walking"
    assert editor.pose == preset_pose("walking")


def test_editor_refuses_a_pose_that_leaves_the_picture():
    editor = pose_editor(size=64)
    editor.sliders["left_upper_arm"].value = 170.0
    before = editor.pose
    assert before.left_upper_arm == 170.0
    assert not inside_canvas(keypoints(edit_pose(before, neck_y=0.24)))
    editor.sliders["neck_y"].value = 0.24  # the raised hand would leave through the top edge
    assert editor.pose == before and "leaves the picture" in editor.children[1].children[1].value


def test_canny_finds_the_outline_of_a_square_only():
    picture = render(Shape("square", "large", "red", "center", "blue"), 64)
    edges = np.asarray(canny_edges(picture))[..., 0] > 0
    assert edges.any()
    ys, xs = np.nonzero(edges)
    assert edges[28:36, 28:36].sum() == 0  # nothing inside the flat square
    assert xs.min() > 2 and xs.max() < 61 and ys.min() > 2 and ys.max() < 61


def test_canny_rejects_bad_thresholds():
    picture = render(Shape("square", "large", "red", "center", "blue"), 32)
    with pytest.raises(ValueError, match="low <= high"):
        canny_edges(picture, low=200, high=100)
    with pytest.raises(ValueError, match="PIL image"):
        canny_edges(np.zeros((8, 8)))


def test_unseen_people_are_not_training_poses():
    people = unseen_people(20, training_people=50)
    assert len(people) == 20
    train_rng = random.Random(0)
    seen = {tuple(keypoints(random_person(train_rng).pose).ravel().round(6)) for _ in range(50)}
    assert not any(tuple(keypoints(p.pose).ravel().round(6)) in seen for p in people)
    with pytest.raises(ValueError):
        unseen_people(0)


def test_rendered_people_score_full_marks():
    people = unseen_people(6, training_people=10)
    scores = pose_scores(people, [render_person(p) for p in people])
    assert scores["pose_iou"] > 0.9 and scores["color"] == 1.0 and scores["background"] == 1.0
    wrong = [render_person(Person(p.color, p.background)) for p in people]  # all standing
    assert pose_scores(people, wrong)["pose_iou"] < scores["pose_iou"]


def test_controlnet_training_smoke(tmp_path):
    from helpers.core.config import BUNDLED_MODEL_DIR
    from helpers.training.train_controlnet import main

    tiny_pipeline_dir = BUNDLED_MODEL_DIR  # ControlNet on the real mini model, three tiny steps

    out = tmp_path / "cn"
    summary = main(["--preset", "tiny", "--base", str(tiny_pipeline_dir), "--out", str(out),
                    "--work", str(tmp_path / "work")])
    assert (out / "diffusion_pytorch_model.safetensors").exists()
    record = json.loads((out / "training.json").read_text())
    assert record["controlnet"]["steps"] == summary["controlnet"]["steps"] == 3
    # Re-running with more steps resumes from the saved step instead of starting over.
    again = main(["--preset", "tiny", "--base", str(tiny_pipeline_dir), "--out", str(out),
                  "--work", str(tmp_path / "work"), "--steps", "4"])
    assert again["controlnet"]["steps"] == 4


def test_iou_checker_tells_right_from_wrong(capsys):
    from helpers import checks
    from helpers.shapes.reader import mask_iou

    assert checks.check_iou(mask_iou)
    assert not checks.check_iou(lambda a, b: float((a & b).sum() / max(1, a.sum())))  # not over the union
    assert not checks.check_iou(lambda a, b: float((a & b).sum() / (a | b).sum()))  # 0/0 when both empty
    assert not checks.check_iou(None)
    assert "아직 답이 없습니다" in capsys.readouterr().out


def test_hands_up_checker():
    from helpers import checks

    assert checks.check_hands_up(preset_pose("arms up"))
    assert not checks.check_hands_up(preset_pose("waving"))  # one hand only
    assert not checks.check_hands_up("arms up")
    assert not checks.check_hands_up(None)
