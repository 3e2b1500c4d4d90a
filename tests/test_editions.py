"""make editions (tools/editions.py): the student edition leaks no solution, keeps every checker,
and runs top to bottom showing each undone exercise's "not yet"; the instructor edition opens them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import editions  # noqa: E402
from run_notebooks import execute  # noqa: E402

SOURCES = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """Write the student edition of every notebook (as make editions does); return its folder."""
    out = tmp_path_factory.mktemp("editions")
    editions.write_student(SOURCES, out / "student", out / "course")
    return out / "student"


def _code_lines(cells) -> set[str]:
    return {line.strip() for c in cells if c.cell_type == "code" for line in c.source.splitlines()}


def _grade_cells(nb):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def test_each_notebook_has_exercises_and_each_answer_cell_ends_with_its_checker():
    for path in SOURCES:
        found = editions.exercises(nbformat.read(path, as_version=4))
        assert len(found) >= 2, path.stem
        assert all(e.call.startswith(f"helpers.checks.{e.checker}(") and e.title for e in found)


def test_no_solution_text_leaks_into_the_student_edition(student):
    for path in SOURCES:
        source = nbformat.read(path, as_version=4)
        solutions = [c for c in source.cells if editions.is_solution(c)]
        shared = "\n".join(c.source for c in source.cells if not editions.is_solution(c))
        # lines only a solution has (a line the student's own cells or the prose show is no leak)
        secret = {line for line in _code_lines(solutions) if len(line) >= 12 and line not in shared}
        assert secret, path.stem  # the test must have something to look for
        edition = (student / path.name).read_text(encoding="utf-8")
        nb = nbformat.reads(edition, as_version=4)
        leaked = [line for line in secret if line in "\n".join(c.source for c in nb.cells)]
        assert leaked == [], path.stem
        assert editions.SOLUTION_MARK not in edition and '"solution"' not in edition.replace(
            '"solution": false', "")
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_every_exercise_keeps_its_checker_in_a_locked_grading_cell(student):
    for path in SOURCES:
        items = editions.exercises(nbformat.read(path, as_version=4))
        nb = nbformat.read(student / path.name, as_version=4)
        cells = _grade_cells(nb)
        assert [c.metadata.nbgrader.grade_id for c in cells] == [e.grade_id for e in items]
        for cell, exercise in zip(cells, items, strict=True):
            assert " ".join(exercise.call.split()) in " ".join(cell.source.split())  # the whole call
            assert cell.source.rstrip().endswith(f"points={editions.POINTS})")
            assert cell.metadata.nbgrader.locked and cell.metadata.nbgrader.points == editions.POINTS
            assert cell.metadata.get("editable") is False and cell.metadata.get("deletable") is False
        assert nb.metadata.workbook == {"notebook": path.stem, "edition": "student"}


def test_the_instructor_edition_opens_every_solution():
    for path in SOURCES:
        source = nbformat.read(path, as_version=4)
        opened = editions.instructor_edition(source)
        solutions = [c for c in opened.cells if editions.is_solution(c)]
        assert solutions and not [c for c in solutions if c.metadata.get("jupyter", {}).get("source_hidden")]
        assert [c.source for c in opened.cells] == [c.source for c in source.cells]


def _runs_with_not_yet(student: Path, stem: str) -> None:
    """Run one student edition in fast mode: no error, and each grading cell says "not yet", 0 points."""
    nb, error = execute(student / f"{stem}.ipynb", fast=True, cache=False, timeout=600)
    assert error is None, f"{stem}: {error}"
    cells = _grade_cells(nb)
    assert cells
    for cell in cells:
        shown = "\n".join(str(o.get("data", {}).get("text/plain", o.get("text", ""))) for o in cell.outputs)
        assert "아직" in shown, (stem, cell.metadata.nbgrader.grade_id, shown)  # the todo verdict
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert [o.data["text/plain"] for o in results] == ["0"]  # what nbgrader reads: no points
        assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"]


# Two classes, so that pytest-xdist (--dist loadscope) can give each half to its own worker.
@pytest.mark.slow
class TestStudentEditionRunsFirstHalf:
    @pytest.mark.parametrize("stem", [p.stem for p in SOURCES[:6]])
    def test_runs_top_to_bottom_with_not_yet(self, student, stem):
        _runs_with_not_yet(student, stem)


@pytest.mark.slow
class TestStudentEditionRunsSecondHalf:
    @pytest.mark.parametrize("stem", [p.stem for p in SOURCES[6:]])
    def test_runs_top_to_bottom_with_not_yet(self, student, stem):
        _runs_with_not_yet(student, stem)
