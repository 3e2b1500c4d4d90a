"""The Shapes world: rendering, captions and the reader agree with the spec."""

import random

import numpy as np
import pytest
from PIL import Image

from helpers.shapes import (
    COLORS,
    PALETTE,
    Shape,
    all_shapes,
    caption,
    caption_two,
    parse_caption,
    parse_two_caption,
    random_shape,
    random_two_shapes,
    render,
    render_two,
)
from helpers.shapes.dataset import ShapesDataset
from helpers.shapes.people import (
    LIMBS,
    OPENPOSE_COLORS,
    Person,
    Pose,
    inside_canvas,
    keypoints,
    person_caption,
    random_person,
    random_pose,
    render_person,
    render_pose_guide,
)
from helpers.shapes.reader import (
    adherence,
    largest_component_share,
    pose_iou,
    read,
    read_person,
    read_two,
    snap,
)


def test_there_are_1680_combinations_and_colours_differ():
    shapes = all_shapes()
    assert len(shapes) == 3 * 2 * 5 * 8 * 7
    assert all(s.color != s.background for s in shapes)


@pytest.mark.parametrize("side", [32, 64])
def test_every_combination_reads_back(side):
    reads = [(s, read(render(s, side))) for s in all_shapes()]
    assert [(s, got) for s, got in reads if got != s.as_dict()] == []


def test_render_matches_spec_geometry_and_palette():
    item = Shape("square", "large", "red", "left", "blue")
    pixels = np.asarray(render(item, 100))
    assert pixels.shape == (100, 100, 3)
    # the square's half-side is 0.26 W around (0.28 W, 0.50 W): x in [2, 54), y in [24, 76)
    assert tuple(pixels[50, 28]) == PALETTE["red"]
    assert tuple(pixels[50, 60]) == PALETTE["blue"]
    assert tuple(pixels[20, 28]) == PALETTE["blue"]
    assert tuple(pixels[0, 0]) == PALETTE["blue"]
    red = snap(pixels) == COLORS.index("red")
    ys, xs = np.nonzero(red)
    assert 2 <= xs.min() <= 3 and 52 <= xs.max() <= 53
    assert 24 <= ys.min() <= 25 and 74 <= ys.max() <= 75


def test_triangle_points_up():
    pixels = np.asarray(render(Shape("triangle", "large", "white", "center", "black"), 64))
    white = np.all(pixels == PALETTE["white"], axis=-1)
    top_row, bottom_row = white[20], white[45]
    assert top_row.sum() < bottom_row.sum()


def test_bad_attributes_raise_clear_errors():
    with pytest.raises(ValueError, match="choose one of"):
        Shape("hexagon", "small", "red", "left", "blue")
    with pytest.raises(ValueError, match="differ"):
        Shape("circle", "small", "red", "left", "red")
    with pytest.raises(ValueError, match=">= 32"):
        render(Shape("circle", "small", "red", "left", "blue"), 16)


def test_captions_full_partial_and_parsed_back():
    item = Shape("circle", "large", "red", "center", "blue")
    assert caption(item) == "a large red circle at the center on a blue background"
    assert caption(item, ("color",)) == "a red circle"
    assert caption(item, ("size", "position")) == "a large circle at the center"
    assert caption(item, ()) == "a circle"
    assert parse_caption(caption(item)) == item.as_dict()
    assert parse_caption("a circle on a white background") == {"shape": "circle",
                                                               "background": "white"}
    with pytest.raises(ValueError):
        parse_caption("a pink hexagon")
    rng = random.Random(0)
    for _ in range(200):
        s = random_shape(rng)
        assert parse_caption(caption(s)) == s.as_dict()


def test_two_objects_render_read_and_parse():
    rng = random.Random(3)
    for _ in range(100):
        item = random_two_shapes(rng)
        left, right = item.halves()
        for side in (32, 64):
            assert read_two(render_two(item, side)) == (left.as_dict(), right.as_dict())
        named_left, named_right = parse_two_caption(caption_two(item))
        assert named_left["color"] == item.left_color and named_right["shape"] == item.right_shape


def test_adherence_counts_named_attributes_only():
    item = Shape("circle", "large", "red", "center", "blue")
    other = Shape("square", "small", "green", "left", "white")
    prompts = [caption(item), "a red circle", caption(item)]
    images = [render(item), render(item), render(other)]
    scores = adherence(prompts, images)
    assert scores["color"] == pytest.approx(2 / 3)
    assert scores["size"] == pytest.approx(1 / 2)
    assert scores["all"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="2 prompts but 1 images"):
        adherence(prompts[:2], images[:1])


def test_reader_rejects_bad_input():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        read(np.zeros((8, 8), dtype=np.uint8))


def test_poses_stay_in_spec_ranges_and_canvas():
    rng = random.Random(0)
    for _ in range(300):
        pose = random_pose(rng)
        points = keypoints(pose)
        assert points.shape == (18, 2) and inside_canvas(points)
        assert 0.40 <= pose.neck_x <= 0.60 and 0.24 <= pose.neck_y <= 0.34
        # proportions: neck to nose 0.10 straight up, upper arm 0.13, shin 0.15
        assert np.allclose(points[1] - points[0], [0, 0.10])
        assert np.linalg.norm(points[3] - points[2]) == pytest.approx(0.13)
        assert np.linalg.norm(points[10] - points[9]) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="outside the spec's range"):
        Pose(right_upper_arm=180)


def test_hanging_arms_point_down_and_raised_arms_up():
    down = keypoints(Pose(right_upper_arm=0, left_upper_arm=0))
    assert down[3][1] > down[2][1] and down[3][0] == pytest.approx(down[2][0])
    up = keypoints(Pose(right_upper_arm=170, left_upper_arm=170))
    assert up[3][1] < up[2][1]
    # the person faces the viewer: their right shoulder is on the picture's left
    assert up[2][0] < up[1][0] < up[5][0]


def test_person_picture_reads_back_and_matches_its_mask():
    rng = random.Random(1)
    ious, components = [], []
    for _ in range(50):
        person = random_person(rng)
        image = render_person(person, 64)
        got = read_person(image)
        assert (got["color"], got["background"]) == (person.color, person.background)
        ious.append(pose_iou(image, keypoints(person.pose)))
        components.append(largest_component_share(got["mask"])[0])
    assert min(ious) > 0.85
    assert set(components) == {1}
    assert person_caption(person) == f"a {person.color} person on a {person.background} background"


def test_pose_guide_uses_openpose_colours():
    points = keypoints(Pose())
    guide = np.asarray(render_pose_guide(points, 256))
    assert tuple(guide[0, 0]) == (0, 0, 0)
    # the middle of limb 6, (1, 8), neck to right hip, has limb colour 6
    mid = ((points[1] + points[8]) / 2 * 256).astype(int)
    assert np.abs(guide[mid[1], mid[0]].astype(int) - OPENPOSE_COLORS[6]).max() <= 2
    assert len(LIMBS) == 17 and len(OPENPOSE_COLORS) == 18
    with pytest.raises(ValueError, match="18 keypoints"):
        render_pose_guide(points[:5])


def test_dataset_yields_images_captions_attributes_keypoints():
    data = ShapesDataset(size=32, people=4, shapes=all_shapes()[:6], seed=0)
    assert len(data) == 10 and (data.n_shapes, data.n_people) == (6, 4)
    image, text, attrs, points = data[0]
    assert image.shape == (3, 32, 32) and -1.0 <= image.min() and image.max() <= 1.0
    assert attrs == all_shapes()[0].as_dict() and bool(points.isnan().all())
    image, text, attrs, points = data[8]
    assert attrs["shape"] == "person" and points.shape == (18, 2)
    assert not bool(points.isnan().any())
    captions = {data.caption(0) for _ in range(200)}
    assert "" in captions and caption(all_shapes()[0]) in captions and len(captions) > 5
    full = ShapesDataset(size=32, shapes=all_shapes()[:2], captions="full")
    assert full[1][1] == caption(all_shapes()[1])
    person = Person("red", "blue")
    assert isinstance(render_person(person, 32), Image.Image)
