"""Pose presets and a live pose editor: sliders per joint angle redraw the OpenPose guide (08_controlnet).

Everything the widget does is a plain function too (``preset_pose``, ``edit_pose``,
``pose_picture``), so tests and students can use it without a browser.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import numpy as np

from helpers.shapes.people import Pose, keypoints, render_pose_guide

# Named poses a class can ask for. Angles in degrees (see helpers.shapes.people.Pose).
POSE_PRESETS: dict[str, Pose] = {
    "standing": Pose(),
    "arms up": Pose(right_upper_arm=165.0, left_upper_arm=165.0, right_thigh=8.0, left_thigh=8.0),
    "waving": Pose(right_upper_arm=20.0, left_upper_arm=120.0, left_forearm=40.0),
    "walking": Pose(right_upper_arm=25.0, right_forearm=-30.0, left_upper_arm=15.0,
                    left_forearm=30.0, right_thigh=-25.0, right_shin=30.0, left_thigh=30.0,
                    left_shin=-10.0),
    "star jump": Pose(right_upper_arm=120.0, left_upper_arm=120.0, right_thigh=30.0,
                      left_thigh=30.0),
    "hands on hips": Pose(right_upper_arm=45.0, right_forearm=-120.0, left_upper_arm=45.0,
                          left_forearm=-120.0),
}

ANGLE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Pose))


def preset_pose(name: str) -> Pose:
    """Return the named preset pose ("standing", "arms up", "waving", "walking", ...).

    Used in 08_controlnet.
    """
    if name not in POSE_PRESETS:
        raise ValueError(f"unknown pose {name!r}; presets: {', '.join(POSE_PRESETS)}")
    return POSE_PRESETS[name]


def edit_pose(pose: Pose, **changes: float) -> Pose:
    """Return ``pose`` with some angles (or the neck position) changed; out-of-range values raise.

    Used in 08_controlnet.
    """
    unknown = set(changes) - set(ANGLE_NAMES)
    if unknown:
        raise ValueError(f"unknown pose field(s) {sorted(unknown)}; fields: {', '.join(ANGLE_NAMES)}")
    return replace(pose, **changes)


def pose_picture(pose: Pose, size: int = 64):
    """Return the OpenPose guide of ``pose`` at ``size`` pixels (what the widget shows).

    Used in 08_controlnet.
    """
    return render_pose_guide(keypoints(pose), size)


def _range(name: str) -> tuple[float, float]:
    from helpers.shapes import people

    ranges = {"neck_x": people.NECK_X, "neck_y": people.NECK_Y,
              "right_upper_arm": people.UPPER_ARM_RANGE, "left_upper_arm": people.UPPER_ARM_RANGE,
              "right_thigh": people.THIGH_RANGE, "left_thigh": people.THIGH_RANGE}
    if name in ranges:
        return ranges[name]
    bend = people.FOREARM_BEND if "forearm" in name else people.SHIN_BEND
    return -bend, bend


def pose_editor(on_change: Any = None, start: str = "standing", size: int = 256) -> Any:
    """Return an ipywidgets pose editor: a preset menu and a slider per joint that redraw the guide.

    ``on_change(pose)`` is called with each new pose (for instance to generate a picture);
    the editor's current pose is in ``editor.pose``. Poses whose keypoints leave the canvas
    are shown with a warning rather than drawn.
    Used in 08_controlnet.
    """
    import ipywidgets as widgets

    from helpers.shapes.people import inside_canvas

    pose = preset_pose(start)
    image = widgets.Image(format="png", width=size, height=size)
    message = widgets.HTML()
    menu = widgets.Dropdown(options=list(POSE_PRESETS), value=start, description="preset")
    sliders = {}
    for name in ANGLE_NAMES:
        low, high = _range(name)
        step = 0.01 if name.startswith("neck") else 5.0
        sliders[name] = widgets.FloatSlider(value=getattr(pose, name), min=low, max=high, step=step,
                                            description=name.replace("_", " "),
                                            continuous_update=False,
                                            style={"description_width": "110px"})
    box = widgets.HBox([widgets.VBox([menu, *sliders.values()]), widgets.VBox([image, message])])
    box.pose = pose
    box.sliders, box.menu = sliders, menu
    updating = {"busy": False}

    def redraw(new_pose: Pose) -> None:
        import io

        buffer = io.BytesIO()
        pose_picture(new_pose, size).save(buffer, format="PNG")
        image.value = buffer.getvalue()
        box.pose = new_pose
        if on_change is not None:
            on_change(new_pose)

    def from_sliders(_change: Any = None) -> None:
        if updating["busy"]:
            return
        try:
            candidate = Pose(**{name: float(s.value) for name, s in sliders.items()})
        except ValueError as error:
            message.value = f"<span style='color:#b00'>{error}</span>"
            return
        if not inside_canvas(np.asarray(keypoints(candidate))):
            message.value = "<span style='color:#b00'>a hand or foot leaves the picture</span>"
            return
        message.value = ""
        redraw(candidate)

    def from_menu(change: Any) -> None:
        new_pose = preset_pose(change["new"])
        updating["busy"] = True
        for name, slider in sliders.items():
            slider.value = getattr(new_pose, name)
        updating["busy"] = False
        message.value = ""
        redraw(new_pose)

    for slider in sliders.values():
        slider.observe(from_sliders, names="value")
    menu.observe(from_menu, names="value")
    redraw(pose)
    return box
