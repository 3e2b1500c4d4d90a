#!/usr/bin/env python3
"""Write the course's two editions from the one source in notebooks/: student and instructor.

    python tools/editions.py                    # both editions (make editions)
    python tools/editions.py student            # build/editions/student/ only (seconds)
    python tools/editions.py instructor --fast  # build/editions/instructor/, executed in fast mode
    python tools/editions.py student 02         # some notebooks only (names or NN prefixes)

**Student edition** (``build/editions/student/``): every solution cell removed, outputs empty.
Each exercise's checker call moves out of the answer cell into a locked grading cell (채점 셀)
right under it, ``helpers.checks.score(lambda: <the checker call>, points=1)``: the student still
sees the checker's box, and nbgrader can grade it. The edition is made by nbgrader itself
(``nbgrader generate_assignment`` over ``build/course/``, one assignment per notebook), which
locks the grading cells and records them in ``build/course/gradebook.db`` for ``make grade``
(tools/grade.py). Links to ``../README.md`` point to the repository online, since the edition is
a folder a course publishes on its own.

**Instructor edition** (``build/editions/instructor/``): the notebooks as they are, solution cells
open (not collapsed), executed top to bottom (full mode; ``--fast`` for fast mode), as .ipynb and
.html. A notebook that fails is reported and the run exits 1 at the end.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings in tools/
from run_notebooks import execute, notebooks, write_html  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
EDITIONS = REPO_ROOT / "build" / "editions"
COURSE = REPO_ROOT / "build" / "course"
#: The marker every solution cell starts with, and its tag.
SOLUTION_MARK, SOLUTION_TAG = "# 풀이 (Solution)", "solution"
#: Points per exercise: every exercise is worth the same.
POINTS = 1
GRADING_COMMENT = ("# 채점 셀 (grading cell): 고치지 마세요. 위 칸의 답을 체커가 보고 점수를 매깁니다.\n"
                   "# 채점(make grade) 때는 이 셀이 원래 모습으로 되돌려진 뒤 실행됩니다.")


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: its answer cell, the checker call at its end, its grade id."""

    index: int  # the answer cell's index in the source notebook
    number: int  # 1, 2, ... within the notebook
    checker: str  # "check_q_sample"
    call: str  # the checker call's source, e.g. 'helpers.checks.check_q_sample(q_sample)'
    answer: str  # the answer cell's source without the call
    title: str  # the exercise's heading, e.g. "연습 1: 닫힌 형태를 직접 쓰기"

    @property
    def grade_id(self) -> str:
        """Return nbgrader's id of this exercise's grading cell, e.g. "ex1_q_sample"."""
        return f"ex{self.number}_{self.checker.removeprefix('check_')}"


def is_solution(cell: nbformat.NotebookNode) -> bool:
    """Return True for a solution cell (tagged "solution" or starting with the solution mark)."""
    return (SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])
            or cell.get("source", "").lstrip().startswith(SOLUTION_MARK))


def _checker_call(source: str) -> tuple[str, str, str] | None:
    """Return (answer part, checker call, checker name) of an answer cell, or None.

    The call is the cell's last top-level statement when it is ``helpers.checks.check_*(...)``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if not tree.body:
        return None
    last = tree.body[-1]
    if not (isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)):
        return None
    name = ast.unparse(last.value.func)
    if not name.startswith("helpers.checks.check_"):
        return None
    lines = source.splitlines()
    answer = "\n".join(lines[:last.lineno - 1]).rstrip()
    call = "\n".join(lines[last.lineno - 1:last.end_lineno]).strip()
    return answer, call, name.removeprefix("helpers.checks.")


def _title(cells: list, index: int) -> str:
    """Return the nearest '### ' heading above cell ``index`` (the exercise's title)."""
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("### "):
                    return line[4:].strip()
    return ""


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """Return the notebook's exercises: each answer cell is the code cell right above a solution.

    Raises ValueError, naming the cell, if an answer cell does not end with its checker call.
    """
    found = []
    for i, cell in enumerate(nb.cells):
        if not is_solution(cell):
            continue
        answer_cell = nb.cells[i - 1] if i > 0 else None
        if answer_cell is None or answer_cell.cell_type != "code" or is_solution(answer_cell):
            raise ValueError(f"solution cell {i} has no answer cell right above it")
        parts = _checker_call(answer_cell.source)
        if parts is None:
            raise ValueError(f"cell {i - 1}, above solution cell {i}, does not end with a "
                             "helpers.checks.check_*(...) call")
        answer, call, checker = parts
        found.append(Exercise(i - 1, len(found) + 1, checker, call, answer, _title(nb.cells, i)))
    return found


def grading_cell(exercise: Exercise) -> nbformat.NotebookNode:
    """Return the locked nbgrader grade cell that scores ``exercise`` with helpers.checks.score."""
    from helpers.checks.grading import score

    head = f"helpers.checks.{score.__name__}(lambda: "
    call = exercise.call.replace("\n", "\n" + " " * len(head))
    cell = nbformat.v4.new_code_cell(f"{GRADING_COMMENT}\n{head}{call}, points={POINTS})")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "task": False,
                                 "grade_id": exercise.grade_id, "points": POINTS,
                                 "schema_version": 3}
    cell.metadata["editable"] = False
    cell.metadata["deletable"] = False
    return cell


def _online_links(text: str) -> str:
    """Return ``text`` with links to the repository's own files pointing online."""
    from helpers.core.config import REPO_BRANCH, REPO_URL

    return text.replace("](../", f"]({REPO_URL}/blob/{REPO_BRANCH}/")


def student_edition(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Return the student edition of ``nb``: no solutions, checker calls in grading cells, no outputs."""
    nb = copy.deepcopy(nb)
    by_index = {e.index: e for e in exercises(nb)}
    cells = []
    for i, cell in enumerate(nb.cells):
        if is_solution(cell):
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "markdown":
            cell.source = _online_links(cell.source)
        if i in by_index:
            exercise = by_index[i]
            cell.source = exercise.answer
            cells += [cell, grading_cell(exercise)]
        else:
            cells.append(cell)
    nb.cells = cells
    nb.metadata["workbook"] = {"notebook": stem, "edition": "student"}
    return nb


def instructor_edition(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``nb`` with its solution cells open (not collapsed); everything else as it is."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_solution(cell):
            cell.metadata.get("jupyter", {}).pop("source_hidden", None)
            if cell.metadata.get("jupyter") == {}:
                del cell.metadata["jupyter"]
    nb.metadata["workbook"] = {"notebook": nb.metadata.get("workbook", {}).get("notebook", ""),
                               "edition": "instructor"}
    return nb


def build_course(paths: list[Path], course: Path) -> None:
    """Write nbgrader's course folder for ``paths``: source/, release/ and gradebook.db.

    Each notebook is one assignment named after it; its source is the student edition with its
    grading cells, and nbgrader's ``generate_assignment`` (run here through its Python API, one
    process for all) makes the release: the locked edition. Raises RuntimeError with nbgrader's
    own words if it refuses a notebook.
    """
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    course.mkdir(parents=True, exist_ok=True)
    # nbgrader runs the `alembic` command beside this Python; the venv's bin/ may not be on PATH
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    config = Config()
    config.CourseDirectory.root = str(course)
    config.Application.log_level = "WARN"
    api = NbGraderAPI(config=config)
    for path in paths:
        stem = path.stem
        source = course / "source" / stem
        source.mkdir(parents=True, exist_ok=True)
        nbformat.write(student_edition(nbformat.read(path, as_version=4), stem), source / path.name)
        done = api.generate_assignment(stem, force=True)
        if not done.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment {stem} failed:\n"
                               f"{(done.get('log', '') + done.get('error', ''))[-3000:]}")


def write_student(paths: list[Path], out: Path, course: Path) -> None:
    """Write the student edition of ``paths`` into ``out``, made by nbgrader in ``course``."""
    out.mkdir(parents=True, exist_ok=True)
    build_course(paths, course)
    for path in paths:
        release = nbformat.read(course / "release" / path.stem / path.name, as_version=4)
        release.metadata["workbook"] = {"notebook": path.stem, "edition": "student"}
        nbformat.write(release, out / path.name)
    _copy_glossary(out)


def write_instructor(paths: list[Path], out: Path, fast: bool, timeout: int) -> list[str]:
    """Write the executed instructor edition of ``paths`` into ``out``; return the failed names."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    _copy_glossary(out)
    failed = []
    for i, path in enumerate(paths, 1):
        began = time.perf_counter()
        print(f"[{i}/{len(paths)}] {path.stem} (instructor, {'fast' if fast else 'full'} mode) ...",
              flush=True)
        opened = instructor_edition(nbformat.read(path, as_version=4))
        opened.metadata["workbook"]["notebook"] = path.stem
        target = out / path.name
        nbformat.write(opened, target)
        nb, error = execute(target, fast, cache=False, timeout=timeout,
                            log=out / "logs" / f"{path.stem}.kernel.log")
        nbformat.write(nb, target)
        write_html(nb, out / f"{path.stem}.html")
        status = "ok" if error is None else f"FAILED: {error}"
        print(f"[{i}/{len(paths)}] {path.stem}: {status} in {time.perf_counter() - began:.0f} s",
              flush=True)
        if error is not None:
            failed.append(path.stem)
    return failed


def _copy_glossary(out: Path) -> None:
    """Copy notebooks/glossary.md beside an edition's notebooks (they link to it)."""
    glossary = REPO_ROOT / "notebooks" / "glossary.md"
    if glossary.exists():
        shutil.copy(glossary, out / glossary.name)


def main(argv: list[str] | None = None) -> int:
    """Write the editions asked for; return 0 if every notebook made it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("edition", nargs="?", choices=["student", "instructor", "both"],
                        default="both")
    parser.add_argument("notebooks", nargs="*", help="names or NN prefixes (default: all)")
    parser.add_argument("--fast", action="store_true", help="execute the instructor edition in fast mode")
    parser.add_argument("--out", type=Path, default=EDITIONS, help="where the editions go")
    parser.add_argument("--course", type=Path, default=COURSE, help="nbgrader's course folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell (instructor)")
    args = parser.parse_intermixed_args(argv)
    paths = [p for p in notebooks(args.notebooks) if p.stem[:2].isdigit()]
    failed: list[str] = []
    if args.edition in ("student", "both"):
        if args.course.exists():
            shutil.rmtree(args.course)  # a fresh gradebook: it must match these notebooks
        write_student(paths, args.out / "student", args.course)
        print(f"student edition: {args.out / 'student'}/ ({len(paths)} notebooks, no solutions; "
              f"nbgrader course in {args.course}/)")
    if args.edition in ("instructor", "both"):
        failed = write_instructor(paths, args.out / "instructor", args.fast, args.timeout)
        print(f"instructor edition: {args.out / 'instructor'}/ (solutions open, executed"
              + (f"; failed: {', '.join(failed)})" if failed else ")"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
