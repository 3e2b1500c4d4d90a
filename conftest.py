"""pytest, for tests/ and for the notebooks nbval runs: results never depend on the generation cache.

helpers.generate caches pictures on disk (helpers/core/generation_cache.py). Under pytest it is off,
for the notebooks' kernels too (they inherit this environment); the cache's own tests turn it
on in a temporary folder.

It also checks every notebook cell nbval runs for figures that never appear (see
``pytest_runtest_call`` below).
"""

import os

import pytest

os.environ["WORKBOOK_CACHE"] = "off"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After nbval runs a notebook cell: it showed one picture per drawing call in its code.

    tests/notebook_figures.py reads the drawing calls; a figure that never appears (a helper
    that returns a closed figure, shown only as a cell's last value) or appears twice fails the
    cell with a sentence saying which.
    """
    result = yield
    outputs = getattr(item, "test_outputs", None)
    cell = getattr(item, "cell", None)
    if outputs is None or cell is None or getattr(cell, "cell_type", "code") != "code":
        return result
    from tests.notebook_figures import (
        allowed_extra,
        expected_images,
        images_shown,
        notebook_drawers,
    )

    expected = expected_images(cell.source, notebook_drawers(str(item.path)))
    if expected is None:
        return result
    shown = images_shown(outputs)
    extra = allowed_extra(cell.source)
    assert expected <= shown <= expected + extra, (
        f"{item.path.name} cell {item.cell_num}: its code has {expected} drawing call(s) "
        f"(helpers.show_images, plt.show, a figure left for the inline backend, or a function "
        f"of the notebook that draws), but it showed {shown} picture(s); every drawing call "
        f"must show its picture once, where it is called")
    return result
