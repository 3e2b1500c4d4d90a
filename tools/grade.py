#!/usr/bin/env python3
"""Grade a folder of submitted student notebooks with nbgrader into one CSV of scores and feedback.

    python tools/grade.py SUBMISSIONS OUT.csv            # make grade SUBMISSIONS=... OUT=...
    python tools/grade.py SUBMISSIONS OUT.csv --cell-timeout 120 --timeout 900

SUBMISSIONS holds one folder per student with that student's notebooks (``alice/02_forward_diffusion.ipynb``),
or notebooks directly (``alice.ipynb``: the student is the file's name). Notebooks come from the
student edition (``make editions``); each is graded by ``nbgrader autograde`` in its own kernel,
offline (``HF_HUB_OFFLINE=1``) and in fast mode on the bundled model (no GPU is shown to it), in a course folder of its own
(a fresh copy of the gradebook), with HOME pointing into it: a cell that deletes files can only
delete its own copy. nbgrader puts the locked grading cells back as they were released, runs every
cell with a time limit (``--cell-timeout``; a cell past it is interrupted and the run goes on) and
scores each grading cell; a whole submission past ``--timeout`` is stopped.

Every submission gets a score and a reason, and the run never stops for one: a file that is not a
notebook (not JSON), a notebook of another lesson, a notebook without grading cells, a cell that
never ends, an error, an exercise left undone. The CSV has one row per student, notebook and
exercise: student, notebook, exercise, title, score, max_score, feedback (the checker's verdict,
or why there is no score). For untrusted code, run this inside a container (the repo2docker image).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings in tools/
from editions import Exercise, build_course, exercises  # noqa: E402
from run_notebooks import notebooks  # noqa: E402

COLUMNS = ["student", "notebook", "exercise", "title", "score", "max_score", "feedback"]
#: Seconds one cell may run before nbgrader interrupts it (an infinite loop, say).
CELL_TIMEOUT_S = 120
#: Seconds one whole submission may take, kernel start to gradebook.
SUBMISSION_TIMEOUT_S = 900
#: The nbgrader student id must be a plain name; the CSV keeps the student's own.
_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass
class Result:
    """The graded rows of one submission (or the reason it has no score)."""

    student: str
    notebook: str
    rows: list[dict] = field(default_factory=list)


def known_notebooks() -> dict[str, Path]:
    """Return {stem: path} of the workbook's numbered notebooks."""
    return {p.stem: p for p in notebooks() if p.stem[:2].isdigit()}


def expected_from_name(name: str, known: dict[str, Path]) -> str | None:
    """Return the notebook a submitted file's name says it is ("02_..." or "02"), or None."""
    match = re.match(r"(\d\d)", Path(name).stem)
    if not match:
        return None
    found = [stem for stem in known if stem.startswith(match.group(1) + "_")]
    return found[0] if len(found) == 1 else None


def identify(nb: nbformat.NotebookNode, known: dict[str, Path],
             grade_ids: dict[str, set[str]]) -> str | None:
    """Return which workbook notebook ``nb`` is (its edition's stamp, else its grading cells)."""
    stamped = nb.get("metadata", {}).get("workbook", {}).get("notebook")
    if stamped in known:
        return stamped
    ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.get("cells", [])} - {None}
    matches = [stem for stem, wanted in grade_ids.items() if ids and ids <= wanted]
    return matches[0] if len(matches) == 1 else None


def zero_rows(student: str, notebook: str | None, items: list[Exercise], reason: str) -> list[dict]:
    """Return rows giving every exercise of ``notebook`` 0 points with ``reason``."""
    if not items:  # we do not even know which notebook it was
        return [{"student": student, "notebook": notebook or "", "exercise": "", "title": "",
                 "score": 0, "max_score": "", "feedback": reason}]
    return [{"student": student, "notebook": notebook, "exercise": e.grade_id, "title": e.title,
             "score": 0, "max_score": 1, "feedback": reason} for e in items]


def _text(outputs: list) -> list[str]:
    """Return what a cell showed, as lines of text: stream text, plain text of displays, errors."""
    lines = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            lines += [t for t in out.get("text", "").splitlines() if t.strip()]
        elif kind == "display_data":
            lines.append(str(out.get("data", {}).get("text/plain", "")).strip())
        elif kind == "error":
            lines.append(describe_error(out))
    return [line for line in lines if line]


def describe_error(out: dict) -> str:
    """Return one sentence for an error output: a timeout, an interrupt or an exception."""
    name, value = out.get("ename", ""), str(out.get("evalue", "")).strip()
    if name in ("CellTimeoutError", "KeyboardInterrupt") or "timeout" in name.lower():
        return ("시간 초과 (timeout): 셀이 제한 시간 안에 끝나지 않아 멈췄습니다 "
                "(끝나지 않는 반복문이 있는지 보세요).")
    return f"오류 (error) {name}: {value}"[:400]


def feedback(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Return {grade_id: feedback text} from an autograded notebook's outputs.

    The feedback is the grading cell's output (the checker's verdict) after any error or timeout
    shown by the exercise's own cells, the ones between the previous grading cell and this one.
    """
    found, pending = {}, []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and cell.metadata["nbgrader"].get("grade"):
            shown = [line for line in _text(cell.outputs) if not re.fullmatch(r"[\d.]+", line)]
            found[grade_id] = " / ".join(dict.fromkeys(pending + shown))[:1000]
            pending = []
        else:
            pending += [describe_error(o) for o in cell.outputs if o.get("output_type") == "error"]
    return found


def screen(path: Path, student: str, known: dict[str, Path], items_of: dict[str, list[Exercise]],
           grade_ids: dict[str, set[str]]) -> Result | tuple[nbformat.NotebookNode, str]:
    """Return (notebook, which workbook notebook it is) to grade, or a bad submission's rows (0, why).

    Reads the file once; never raises for a bad submission.
    """
    expected = expected_from_name(path.name, known)
    if path.suffix != ".ipynb":
        return Result(student, expected or "", zero_rows(
            student, expected, items_of.get(expected, []),
            f"노트북이 아닙니다 (not a notebook): {path.name}는 .ipynb 파일이 아닙니다."))
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - not JSON, not UTF-8, not a notebook: all a reason
        return Result(student, expected or "", zero_rows(
            student, expected, items_of.get(expected, []),
            f"노트북으로 읽을 수 없습니다 (not a notebook: {type(error).__name__}): "
            f"JSON 노트북 파일이 아닙니다. {str(error)[:200]}"))
    actual = identify(nb, known, grade_ids)
    if actual is None:
        return Result(student, expected or "", zero_rows(
            student, expected, items_of.get(expected, []),
            "워크북 학생판의 노트북이 아닙니다 (not a student-edition notebook): 채점 셀이 없습니다. "
            "make editions가 만든 build/editions/student/의 노트북에 답을 써서 내야 합니다."))
    if expected is not None and actual != expected:
        return Result(student, expected, zero_rows(
            student, expected, items_of[expected],
            f"다른 노트북입니다 (wrong notebook): 파일 이름은 {expected}인데 내용은 {actual}입니다."))
    return nb, actual


def autograde(nb: nbformat.NotebookNode, student: str, stem: str, course: Path,
              items: list[Exercise], cell_timeout: int, timeout: int) -> Result:
    """Run ``nbgrader autograde`` on one notebook in a private copy of the course; return its rows."""
    with tempfile.TemporaryDirectory(prefix="workbook-grade-") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(course, root, ignore=shutil.ignore_patterns("release", "autograded",
                                                                   "submitted", "feedback"))
        sid = _SAFE.sub("_", student) or "student"
        folder = root / "submitted" / sid / stem
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{stem}.ipynb")
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "HOME": str(home), "HF_HUB_OFFLINE": "1", "WORKBOOK_FAST": "1",
               "WORKBOOK_CACHE": "off", "MPLBACKEND": "Agg",
               "CUDA_VISIBLE_DEVICES": "",  # no GPU, so helpers picks the bundled model
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
        command = [sys.executable, "-m", "nbgrader", "autograde", stem, "--student", sid, "--force",
                   f"--CourseDirectory.root={root}", f"--Execute.timeout={cell_timeout}",
                   "--Execute.interrupt_on_timeout=True"]
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            log, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # nbgrader and the kernel it started
            process.communicate()
            return Result(student, stem, zero_rows(
                student, stem, items, f"채점 시간 초과 (timeout): 노트북 전체가 {timeout}초 안에 "
                "끝나지 않았습니다."))
        graded = root / "autograded" / sid / stem / f"{stem}.ipynb"
        scores = _scores(root, stem, sid)
        if process.returncode != 0 or scores is None or not graded.exists():
            lines = [line for line in log.splitlines() if line.strip()] or ["no output"]
            errors = [line for line in lines if "ERROR" in line or "Error" in line]
            reason = (errors or lines)[-1]
            return Result(student, stem, zero_rows(
                student, stem, items, f"nbgrader가 채점하지 못했습니다 (not graded): {reason[:300]}"))
        said = feedback(nbformat.read(graded, as_version=4))
    rows = [{"student": student, "notebook": stem, "exercise": e.grade_id, "title": e.title,
             "score": _number(scores.get(e.grade_id, (0, 1))[0]),
             "max_score": _number(scores.get(e.grade_id, (0, 1))[1]),
             "feedback": said.get(e.grade_id, "")} for e in items]
    return Result(student, stem, rows)


def _scores(root: Path, stem: str, sid: str) -> dict[str, tuple[float, float]] | None:
    """Return {grade_id: (score, max_score)} from the gradebook in ``root``, or None."""
    from nbgrader.api import Gradebook, MissingEntry

    database = root / "gradebook.db"
    if not database.exists():
        return None
    try:
        with Gradebook(f"sqlite:///{database}") as book:
            notebook = book.find_submission_notebook(stem, stem, sid)
            return {g.name: (g.score or 0.0, g.max_score) for g in notebook.grades}
    except MissingEntry:
        return None


def _number(value: float) -> int | float:
    """Return ``value`` as an int when it is whole (1, not 1.0) for a tidy CSV."""
    return int(value) if float(value).is_integer() else round(float(value), 3)


def submissions(folder: Path) -> list[tuple[str, Path]]:
    """Return (student, file) pairs: one folder per student, or files named after students."""
    pairs = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            files = [f for f in sorted(entry.rglob("*")) if f.is_file()
                     and ".ipynb_checkpoints" not in f.parts and not f.name.startswith(".")]
            pairs += [(entry.name, f) for f in files]
        elif entry.is_file():
            pairs.append((entry.stem, entry))
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Grade every submission into the CSV; return 0 (a bad submission is a row, not a failure)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT_S)
    parser.add_argument("--timeout", type=int, default=SUBMISSION_TIMEOUT_S)
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"make grade: SUBMISSIONS={args.submissions} is not a folder. Put one folder per "
              "student, each with that student's .ipynb files, in it.", file=sys.stderr)
        return 2
    pairs = submissions(args.submissions)
    if not pairs:
        print(f"make grade: no files in {args.submissions}.", file=sys.stderr)
        return 2
    known = known_notebooks()
    items_of = {stem: exercises(nbformat.read(path, as_version=4)) for stem, path in known.items()}
    grade_ids = {stem: {e.grade_id for e in items} for stem, items in items_of.items()}
    with tempfile.TemporaryDirectory(prefix="workbook-course-") as tmp:
        course = Path(tmp) / "course"
        print(f"grading {len(pairs)} files from {args.submissions}/ (nbgrader; course: the student "
              "edition made now from notebooks/)", flush=True)
        screened = [(student, path, screen(path, student, known, items_of, grade_ids))
                    for student, path in pairs]
        wanted = sorted({found[1] for _, _, found in screened if not isinstance(found, Result)})
        build_course([known[stem] for stem in wanted], course)
        rows, began = [], time.perf_counter()
        for i, (student, path, found) in enumerate(screened, 1):
            start = time.perf_counter()
            result = found if isinstance(found, Result) else autograde(
                found[0], student, found[1], course, items_of[found[1]], args.cell_timeout, args.timeout)
            rows += result.rows
            got = sum(r["score"] for r in result.rows)
            most = sum(r["max_score"] for r in result.rows if r["max_score"] != "")
            print(f"[{i}/{len(pairs)}] {student} {path.name}: {got:g}/{most:g} "
                  f"({result.notebook or '?'}, {time.perf_counter() - start:.0f} s)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} rows for {len({r['student'] for r in rows})} students in {args.out} "
          f"({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
