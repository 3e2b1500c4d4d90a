"""The figure count conftest.py applies to every notebook cell: what it reads from code, on examples."""

from notebook_figures import allowed_extra, drawing_functions, expected_images, images_shown

PNG = {"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}}
TEXT = {"output_type": "stream", "name": "stdout", "text": "hi"}


def test_top_level_drawing_calls_are_counted_wherever_they_stand():
    source = ("helpers.show_images(a)\n"
              "x = 1\n"
              "helpers.show_images(b, cols=2)\n"
              "if x:\n"
              "    print(x)\n")
    assert expected_images(source) == 2  # the 07 cell 5 shape: a call that is not the last line
    assert expected_images("fig, ax = plt.subplots()\nax.plot([1])\nplt.show()") == 1
    assert expected_images("fig, ax = plt.subplots()\nax.plot([1])") == 1  # the inline backend shows it
    assert expected_images("with torch.no_grad():\n    helpers.show_images(a)") == 1
    assert expected_images("print(1)") == 0


def test_calls_that_may_run_any_number_of_times_are_not_counted():
    assert expected_images("for i in range(3):\n    helpers.show_images(a)") is None
    assert expected_images("if FAST:\n    helpers.show_images(a)") is None
    assert expected_images("%time helpers.show_images(a)") == 1  # a magic line is skipped
    assert expected_images("def f(x):\n    helpers.show_images(x)\n") == 0  # defined, not called


def test_a_function_of_the_notebook_that_draws_counts_where_it_is_called():
    drawers = drawing_functions(["def show_noising(t):\n    fig = plt.subplots()\n    plt.show()\n",
                                 "def twice(t):\n    show_noising(t)\n",
                                 "def quiet(t):\n    return t\n"])
    assert drawers == {"show_noising", "twice"}
    assert expected_images("a, b = show_noising(0), twice(9)", drawers) == 2
    assert expected_images("_ = widgets.interact(show_noising, t=slider)", drawers) == 1
    assert expected_images("quiet(1)", drawers) == 0


def test_a_last_bare_expression_may_add_one_picture():
    assert allowed_extra("helpers.image_grid([a])") == 1
    assert allowed_extra("grid") == 1
    assert allowed_extra("helpers.show_images(a)") == 0
    assert allowed_extra("x = helpers.image_grid([a])") == 0


def test_image_outputs_are_counted():
    assert images_shown([PNG, TEXT, PNG]) == 2
    assert images_shown([TEXT, {"output_type": "execute_result", "data": {"image/jpeg": ""}}]) == 1
    assert images_shown([]) == 0
