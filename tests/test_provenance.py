"""Every public helper's docstring names the notebooks that really use it (tools/provenance.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_provenance():
    spec = importlib.util.spec_from_file_location("provenance", ROOT / "tools" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_helper_names_the_notebooks_that_use_it():
    provenance = load_provenance()
    stale = provenance.stale_tags(ROOT)
    listing = "\n".join(f"  {s.helper.path.relative_to(ROOT)}:{s.helper.line} {s.helper.name}: "
                        f"has {s.has!r}, wants {s.wants!r}" for s in stale[:30])
    assert not stale, (f"{len(stale)} helpers' docstrings do not say who uses them:\n{listing}\n"
                       f"run: {provenance.FIX}")


# ---- the tool itself, on a tiny repository ---------------------------------------------------------
WORLD = '''"""A tiny world."""


def render(shape):
    """Return a picture of ``shape``. Introduced in 01_a."""
    return shape


def caption(shape):
    """Return the caption of ``shape``.

    Longer text. Introduced in 02_b.
    """
    return str(shape)


def parse(text):
    r"""Return the shape a caption names (a raw docstring: \\d stays as written).

    Used in 09_wrong.
    """
    return text


def _private():
    """Return nothing; private helpers carry no tag."""


class Shape:
    """A shape, named by a notebook through the package."""


def lonely():
    """Return 1; no one calls it."""
    return 1


def exported_only():
    """Return 2; helpers/__init__.py exports it."""
    return 2


def tested_only():
    """Return 3; only a test calls it."""
    return 3


def example():
    """Return 5.

    For example::

        example()

    Introduced in 01_a.
    """
    return 5


def main():
    """Run as a script."""
    return render(caption(1))


if __name__ == "__main__":
    main()
'''
CORE = '''"""Core."""

from helpers.shapes.world import render as draw


def generate():
    """Return a picture."""
    return draw(1)


def for_tools():
    """Return 4."""
    return 4
'''
NOTEBOOKS = {
    # helpers.<name> for an export, and helpers.x.y.<name>
    "01_a": "import helpers\nhelpers.render(1)\nhelpers.shapes.world.caption(2)\n%matplotlib inline\n"
            "helpers.shapes.world.example()\n",
    # <module>.<name> after from helpers.x import <module> (with as), inside a function too
    "02_b": "from helpers.shapes import world as w\n\ndef f():\n    !ls\n    return w.caption(1)\n",
    # from helpers.x.y import <name>; a class reached through the package's re-export
    "03_c": "from helpers.shapes.world import parse\nfrom helpers import shapes\nparse('x'), shapes.Shape()\n",
    # a local name that only looks like a helper is no use of it
    "04_d": "render = 3\nprint(render)\n",
}


def _notebook(code: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# A"},
             {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": code}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def tiny(tmp_path):
    files = {
        "helpers/__init__.py": '"""Helpers."""\nfrom helpers import shapes\n'
                               "from helpers.shapes.world import exported_only, render\n",
        "helpers/shapes/__init__.py": '"""Shapes."""\nfrom helpers.shapes.world import Shape, caption\n',
        "helpers/shapes/world.py": WORLD,
        "helpers/core/__init__.py": '"""Core."""\n',
        "helpers/core/generate.py": CORE,
        "tools/gpu.py": "from helpers.core import generate\n\nprint(generate.for_tools())\n",
        "tests/test_world.py": "from helpers.shapes.world import tested_only\n\n\ndef test():\n    tested_only()\n",
    }
    files.update({f"notebooks/{stem}.ipynb": _notebook(code) for stem, code in NOTEBOOKS.items()})
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_each_way_a_notebook_reaches_a_helper_counts(tiny):
    provenance = load_provenance()
    wants = {s.helper.name: s.wants for s in provenance.stale_tags(tiny)}
    assert wants == {
        "render": "Used in 01_a.",
        "caption": "Used in 01_a, 02_b.",
        "parse": "Used in 03_c.",
        "Shape": "Used in 03_c.",
        "lonely": "Used by no notebook, helper or tool.",
        "exported_only": "Used by no notebook, helper or tool; exported as helpers.exported_only.",
        "tested_only": "Used only by tests/test_world.py (no notebook, helper or tool calls it).",
        "example": "Used in 01_a.",
        "main": "Used by python -m helpers.shapes.world (no notebook calls it).",
        "generate": "Used by no notebook, helper or tool.",
        "for_tools": "Used by tools/gpu.py (no notebook calls it).",
    }


def test_write_replaces_old_tags_and_the_check_then_passes(tiny):
    provenance = load_provenance()
    assert len(provenance.stale_tags(tiny)) == 11
    provenance.write_tags(provenance.stale_tags(tiny, [tiny / "helpers" / "shapes"]))
    assert [s.helper.name for s in provenance.stale_tags(tiny)] == ["generate", "for_tools"]
    text = (tiny / "helpers/shapes/world.py").read_text()
    assert "Introduced in" not in text and "09_wrong" not in text
    assert '    """Return a picture of ``shape``.\n\n    Used in 01_a.\n    """' in text
    assert '    """Return the caption of ``shape``.\n\n    Longer text.\n    Used in 01_a, 02_b.\n    """' in text
    assert 'r"""Return the shape a caption names (a raw docstring: \\d stays as written).\n\n    Used in 03_c.' in text
    assert '    """Return 5.\n\n    For example::\n\n        example()\n\n    Used in 01_a.\n    """' in text
    assert '"""Return nothing; private helpers carry no tag."""' in text
    provenance.write_tags(provenance.stale_tags(tiny))
    assert provenance.stale_tags(tiny) == []
    before = text
    provenance.write_tags(provenance.stale_tags(tiny))  # nothing stale: nothing changes
    assert (tiny / "helpers/shapes/world.py").read_text() == before


def test_a_long_line_is_wrapped_and_still_read_as_one():
    provenance = load_provenance()
    tag = "Used in " + ", ".join(f"0{i}_a_rather_long_notebook_name" for i in range(6)) + "."
    raw = provenance._rewritten_literal('"""Return x.\n\n    Introduced in 01_a.\n    """', tag, "    ")
    assert all(len(line) <= provenance.WIDTH for line in raw.split("\n"))
    assert raw.count("\n") == 5
    assert provenance.current_tag(raw[3:-3]) == tag


def test_the_check_fails_on_a_stale_tag_and_names_the_fix(tiny, monkeypatch, capsys):
    provenance = load_provenance()
    monkeypatch.setattr(provenance, "REPO_ROOT", tiny)
    assert provenance.main([str(tiny / "helpers" / "shapes")]) == 1
    out, err = capsys.readouterr()
    assert "stale: helpers/shapes/world.py:4 render" in out and "wants: Used in 01_a." in out
    assert "run: python tools/provenance.py --write" in err
    assert provenance.main(["--write"]) == 0
    assert provenance.main([]) == 0
