"""make grade (tools/grade.py): made-up submissions, good and bad, graded by nbgrader into one CSV.

The submissions are 02_forward_diffusion's student edition filled in the ways students fill it:
all right, left undone, a cell that never ends, a cell that deletes files, a file that is not a
notebook, another lesson's notebook under this one's name, a notebook with no grading cells, and a
grading cell edited to give itself the points. Every one gets a score and a reason; none stops
the run; the deleting cell touches nothing outside its own copy.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import editions  # noqa: E402
import grade  # noqa: E402

pytestmark = pytest.mark.slow
STEM = "02_forward_diffusion"


def _solutions(stem: str) -> list[str]:
    """Return the solution cells' code of notebook ``stem``, in order."""
    nb = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    return [c.source for c in nb.cells if editions.is_solution(c)]


def _answer_cells(nb) -> list[int]:
    """Return the indices of the answer cells (the cell above each grading cell)."""
    return [i - 1 for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade")]


def _filled(release, answers: dict[int, str]):
    """Return a copy of the student edition with answer cell k (0-based) replaced by answers[k]."""
    nb = nbformat.reads(nbformat.writes(release), as_version=4)
    for k, index in enumerate(_answer_cells(nb)):
        if k in answers:
            nb.cells[index].source = answers[k]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the made-up submissions; return (csv rows, the submissions folder, sentinel hash)."""
    work = tmp_path_factory.mktemp("grade")
    course = work / "course"
    editions.build_course([ROOT / "notebooks" / f"{STEM}.ipynb",
                           ROOT / "notebooks" / "00_setup_check.ipynb"], course)
    release = nbformat.read(course / "release" / STEM / f"{STEM}.ipynb", as_version=4)
    other = nbformat.read(course / "release" / "00_setup_check" / "00_setup_check.ipynb", as_version=4)
    right = dict(enumerate(_solutions(STEM)))
    folder = work / "submissions"
    folder.mkdir()

    def submit(student: str, nb=None, text: str | None = None, name: str = f"{STEM}.ipynb"):
        (folder / student).mkdir()
        target = folder / student / name
        if text is not None:
            target.write_text(text)
        else:
            nbformat.write(nb, target)

    submit("alice", _filled(release, right))
    submit("bob", release)  # nothing done
    carol = _filled(release, {0: right[0], 1: "while True:\n    pass", 2: right[2]})
    submit("carol", carol)
    # dave answers all, then deletes every file he can reach from his folder and his home
    wipe = ("import os, shutil\nfrom pathlib import Path\n"
            "for p in list(Path('.').iterdir()) + list(Path.home().iterdir()):\n"
            "    shutil.rmtree(p) if p.is_dir() else p.unlink()\n")
    submit("dave", _filled(release, {0: wipe + right[0], 1: right[1], 2: right[2]}))
    submit("erin", text="이건 노트북이 아닙니다 {not json")
    submit("frank", other)  # 00's edition handed in as 02
    plain = nbformat.read(ROOT / "notebooks" / f"{STEM}.ipynb", as_version=4)
    submit("gina", plain, name="my_homework.ipynb")  # the source notebook: no grading cells
    cheat = _filled(release, {})
    for cell in cheat.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "1"  # edits the locked cell to print full marks
    submit("hana", cheat)
    sentinel = work / "keep.txt"  # beside the submissions: out of the deleting cell's reach
    sentinel.write_text("still here")
    out = work / "scores.csv"
    assert grade.main([str(folder), str(out), "--cell-timeout", "20", "--timeout", "300"]) == 0
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return rows, folder, sentinel


def _of(rows, student):
    return [r for r in rows if r["student"] == student]


def _total(rows, student):
    return sum(float(r["score"]) for r in _of(rows, student))


def test_every_submission_has_rows_with_a_reason_and_the_csv_has_the_columns(graded):
    rows, _, _ = graded
    assert list(rows[0]) == grade.COLUMNS
    assert {r["student"] for r in rows} == {"alice", "bob", "carol", "dave", "erin", "frank", "gina", "hana"}
    assert all(r["feedback"].strip() for r in rows)


def test_right_answers_get_full_points_with_the_checkers_praise(graded):
    rows, _, _ = graded
    alice = _of(rows, "alice")
    assert [r["exercise"] for r in alice] == ["ex1_q_sample", "ex2_snr_crossing", "ex3_snr_share"]
    assert _total(rows, "alice") == 3 and all(r["max_score"] == "1" for r in alice)
    assert all("정답 (correct)" in r["feedback"] for r in alice)


def test_undone_exercises_score_zero_saying_not_done(graded):
    rows, _, _ = graded
    assert _total(rows, "bob") == 0
    assert all("아직 답이 없습니다" in r["feedback"] for r in _of(rows, "bob"))


def test_a_cell_that_never_ends_is_stopped_and_the_rest_still_graded(graded):
    rows, _, _ = graded
    carol = {r["exercise"]: r for r in _of(rows, "carol")}
    assert carol["ex2_snr_crossing"]["score"] == "0"
    assert "시간 초과 (timeout)" in carol["ex2_snr_crossing"]["feedback"]
    assert carol["ex1_q_sample"]["score"] == "1" and carol["ex3_snr_share"]["score"] == "1"


def test_a_cell_that_deletes_files_harms_only_its_own_copy(graded):
    rows, folder, sentinel = graded
    assert _total(rows, "dave") == 3  # graded normally
    assert (folder / "alice" / f"{STEM}.ipynb").exists() and _total(rows, "alice") == 3
    assert sentinel.read_text() == "still here"
    assert sorted(p.name for p in folder.iterdir()) == ["alice", "bob", "carol", "dave", "erin",
                                                        "frank", "gina", "hana"]
    assert (folder / "dave" / f"{STEM}.ipynb").exists()  # graded from a copy


def test_not_json_wrong_notebook_and_no_grading_cells_each_get_zero_and_a_reason(graded):
    rows, _, _ = graded
    erin, frank, gina = _of(rows, "erin"), _of(rows, "frank"), _of(rows, "gina")
    assert len(erin) == 3 and _total(rows, "erin") == 0  # the file name says which notebook
    assert all("not a notebook" in r["feedback"] for r in erin)
    assert len(frank) == 3 and _total(rows, "frank") == 0
    assert all("wrong notebook" in r["feedback"] and "00_setup_check" in r["feedback"] for r in frank)
    assert len(gina) == 1 and gina[0]["score"] == "0" and "not a student-edition notebook" in gina[0]["feedback"]


def test_an_edited_grading_cell_is_put_back_before_grading(graded):
    rows, _, _ = graded
    assert _total(rows, "hana") == 0  # nbgrader restored the locked cells; nothing was answered
