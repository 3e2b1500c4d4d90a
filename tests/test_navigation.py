"""The README's notebook table and every notebook's closing "next" link are in step with the notebooks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_navigation():
    spec = importlib.util.spec_from_file_location("navigation", ROOT / "tools" / "navigation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_table_and_next_links_are_in_step():
    stale = load_navigation().out_of_step(write=False)
    assert stale == [], f"out of step: {stale}; run: python tools/navigation.py"


def test_every_notebook_is_in_the_readme_with_a_colab_link_and_times():
    nav = load_navigation()
    table = (ROOT / "README.md").read_text().split(nav.START)[1].split(nav.END)[0]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        row = next((line for line in table.splitlines() if f"(notebooks/{path.name})" in line), None)
        assert row is not None, f"{path.name} is missing from the README table"
        assert f"blob/main/notebooks/{path.name})" in row and row.count(" | ") == 4


def test_each_notebook_links_to_the_next_one():
    nav = load_navigation()
    books = nav.load_notebooks()
    for (path, nb), following in zip(books, [*books[1:], None], strict=True):
        last = [c for c in nb.cells if c.cell_type == "markdown"][-1].source.split("\n")[-1]
        assert last.startswith(nav.NEXT), f"{path.name} ends with {last!r}"
        target = following[0].name if following else "../README.md#notebooks"
        assert f"]({target})" in last, f"{path.name} should link to {target}: {last!r}"


def test_the_check_sees_a_stale_link_and_the_fixer_mends_it(tmp_path, monkeypatch):
    nav = load_navigation()
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name, heading in (("00_a.ipynb", "# 00. A (a)"), ("01_b.ipynb", "# 01. B (b)")):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"{heading}\n\n## 이 노트북에서 배우는 것\n{name} 배웁니다. 둘째."),
                    nbformat.v4.new_markdown_cell("## 정리\n\n**다음:** 어딘가")]
        nbformat.write(nb, folder / name)
    readme = tmp_path / "README.md"
    layout = nav._tool("layout")
    readme.write_text(f"# x\n\n## Notebooks\n\n{nav.START}\nold\n{nav.END}\n\n## Layout\n\n"
                      f"{layout.layout_block(ROOT)}\n")
    monkeypatch.setattr(nav, "NOTEBOOK_DIR", folder)
    monkeypatch.setattr(nav, "README", readme)
    monkeypatch.setattr(nav, "TIMINGS", tmp_path / "timings.json")
    (tmp_path / "timings.json").write_text('{"00_a": {"cpu_fast_s": 12, "cpu_full_s": 420}}')
    assert nav.main(["--check"]) == 1
    assert nav.main([]) == 0 and nav.main(["--check"]) == 0
    text = readme.read_text()
    assert "| [00. A (a)](notebooks/00_a.ipynb) | 00_a.ipynb 배웁니다. | fast 12 s, full 7 min |" in text
    assert "| [01. B (b)](notebooks/01_b.ipynb) | 01_b.ipynb 배웁니다. | not measured | not measured |" in text
    first = nbformat.read(folder / "00_a.ipynb", 4).cells[-1].source
    assert first == "## 정리\n\n**다음 (next):** [01. B (b)](01_b.ipynb) — 01_b.ipynb 배웁니다."
    assert "**다음:** 어딘가" not in first


def test_the_readme_layout_lists_every_package_module_and_tool_by_its_docstring():
    layout = load_navigation()._tool("layout")
    text = (ROOT / "README.md").read_text().split(layout.START)[1].split(layout.END)[0]
    lines = text.splitlines()
    for path in sorted((ROOT / "helpers").rglob("*.py")) + sorted((ROOT / "tools").glob("*.py")):
        name = f"{path.parent.name}/" if path.name == "__init__.py" else path.name
        first = layout.summary(path)
        assert first.endswith((".", "?", "!")) and "\n" not in first, f"{path}: {first!r}"
        assert any(line.split()[:1] == [name] and line.endswith(first) for line in lines), \
            f"{path.relative_to(ROOT)} is missing from README's layout; run: python tools/navigation.py"
    for folder in ("notebooks/", "helpers/", "data/", "docs/", "tests/", "tools/"):
        assert any(line.startswith(folder) for line in lines), f"{folder} is missing from the layout"


def test_a_stale_layout_is_seen_and_rewritten(tmp_path, monkeypatch):
    nav = load_navigation()
    layout = nav._tool("layout")
    monkeypatch.setattr(nav, "load_notebooks", lambda: [])  # only the README is at stake here
    readme = tmp_path / "README.md"
    table = nav.readme_table([])
    readme.write_text(f"# x\n\n{table}\n\n## Layout\n\n{layout.START}\n```\nhelpers/ old\n```\n{layout.END}\n\nend\n")
    monkeypatch.setattr(nav, "README", readme)
    assert nav.out_of_step(write=False) == ["README.md layout"]
    assert nav.out_of_step(write=True) == ["README.md layout"]
    assert nav.out_of_step(write=False) == []
    text = readme.read_text()
    assert text.endswith(f"{layout.END}\n\nend\n") and "helpers/ old" not in text
    assert "    world.py  " in text and "  core/  " in text


def test_the_layout_takes_each_first_line_and_groups_modules_under_their_package(tmp_path):
    layout = load_navigation()._tool("layout")
    for name, doc in {"helpers/__init__.py": "helpers: the library.",
                      "helpers/core/__init__.py": "Plumbing.\n\nMore.",
                      "helpers/core/images.py": "Pictures: ``to_pil``.",
                      "helpers/zoo/__init__.py": "A room not in PACKAGES.",
                      "helpers/zoo/lion.py": "A lion.",
                      "tools/stamp.py": "Stamp things."}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f'"""{doc}"""\n')
    lines = layout.layout_lines(tmp_path)
    at = lines.index("helpers/      The library.")
    assert lines[at + 1:at + 5] == ["  core/  Plumbing.", "    images.py  Pictures: to_pil.",
                                    "  zoo/   A room not in PACKAGES.", "    lion.py  A lion."]
    assert "  stamp.py  Stamp things." in lines
    (tmp_path / "helpers/zoo/lion.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match="no module docstring"):
        layout.layout_lines(tmp_path)
