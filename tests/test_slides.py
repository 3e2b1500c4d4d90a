"""Every notebook is a slideshow: slide metadata in step with its structure, presenter fonts, the export."""

from __future__ import annotations

import base64
import importlib.util
import io
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from helpers.core.presenter import SLIDE_FONT_PX, slide_css

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load_slides():
    spec = importlib.util.spec_from_file_location("slides", ROOT / "tools" / "slides.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


slides = load_slides()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_slides_are_in_step_and_several(path):
    nb = nbformat.read(path, as_version=4)
    assert slides.stamp(nb) is False, f"{path.name}: run python tools/slides.py"
    types = [cell.metadata["slideshow"]["slide_type"] for cell in nb.cells]
    assert types[0] == "slide"
    assert types.count("slide") >= 3, f"{path.name}: {types.count('slide')} section slides"
    assert types.count("slide") + types.count("subslide") >= 6
    assert "fragment" in types  # at least one figure builds up
    for cell, kind in zip(nb.cells, types, strict=True):
        if "solution" in cell.metadata.get("tags", []) or cell.source.startswith("# colab-setup"):
            assert kind == "skip", f"{path.name}: a solution or set-up cell would be shown"
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("## "):
            assert kind == "slide"
    assert nb.metadata["rise"] == slides.RISE_SETTINGS


def test_rise_css_holds_presenter_fonts():
    text = (ROOT / "notebooks" / "rise.css").read_text(encoding="utf-8")
    assert text == slide_css()
    for size in SLIDE_FONT_PX.values():
        assert f"font-size: {size}px" in text


def test_slide_types_follow_the_structure():
    new_md, new_code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    solution = new_code("# 풀이\nx = 1")
    solution.metadata["tags"] = ["solution"]
    nb = nbformat.v4.new_notebook(cells=[
        new_md("# Title"), new_code("# colab-setup: ..."), new_code("import helpers"),
        new_md("## 1. Section\nprose"), new_code("helpers.show_images(images)"),
        new_md("What to see."), new_code("x = 2"), new_code("fig, ax = plt.subplots()"),
        new_md("### Exercise"), new_code("def f(): ..."), solution, new_md("more prose"),
        new_md("## 2. Next"), new_code("plt.plot([1, 2])"),
    ])
    assert slides.slide_types(nb) == [
        "slide", "skip", "-",
        "slide", "fragment",
        "subslide", "-", "fragment",
        "subslide", "-", "skip", "subslide",  # prose after (shown) code starts a step
        "slide", "fragment",
    ]


def test_check_finds_a_notebook_out_of_step(tmp_path):
    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    nb = nbformat.read(copy, as_version=4)
    nb.cells[3].metadata["slideshow"] = {"slide_type": "notes"}  # hand-edited
    nbformat.write(nb, copy)
    assert slides.main(["--check", str(copy)]) == 1
    assert slides.main([str(copy)]) == 0
    assert slides.main(["--check", str(copy)]) == 0
    assert copy.read_text() == NOTEBOOKS[0].read_text()


def png_output(width: int, height: int) -> dict:
    """Return a display_data output holding a ``width`` x ``height`` PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(buffer.getvalue()).decode(), "text/plain": "<Image>"})


def test_export_writes_reveal_slides_with_presenter_fonts(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 제목 (Title)"),
        nbformat.v4.new_markdown_cell("## 1. 그림 (picture)"),
        nbformat.v4.new_code_cell("helpers.show_images(images)", outputs=[png_output(64, 48)]),
    ])
    slides.stamp(nb)
    target = tmp_path / "x.slides.html"
    slides.export(nb, target, "lib")
    html = target.read_text(encoding="utf-8")
    assert 'src="lib/reveal.js/dist/reveal.js"' in html or '"lib/reveal.js/dist/reveal.js"' in html
    assert 'src="lib/require.js"' in html and 'src="lib/jquery.min.js"' in html
    assert "unpkg.com/reveal.js" not in html
    style = re.search(r'<style id="presenter-fonts">(.*?)</style>', html, re.S)
    assert style is not None and style.group(1).strip() == slide_css().strip()
    assert html.index('id="presenter-fonts"') < html.index("</head>")
    assert len(re.findall(r"<section", html)) >= 3  # the title, the section, its fragment's slide
    assert 'class="fragment"' in html
    assert "data:image/png;base64," in html
