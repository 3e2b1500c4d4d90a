"""The checker API (helpers.checks.api): one clear verdict per answer, and solutions stored collapsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.checks import api
from helpers.checks.korean_particles import with_particle

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@api.checker
def check_double(fn):
    for x in (0, 3, -2):
        got = api.as_number(api.call(fn, x))
        api.expect(got == 2 * x, f"x = {with_particle(x, '이면/면')} "
                                   f"{with_particle(2 * x, '이어야/여야')} 하는데 {got:g}입니다.")
    return "두 배가 맞습니다."


def test_right_answer_says_correct_clearly(capsys):
    verdict = check_double(lambda x: 2 * x)
    assert verdict and verdict.kind == "correct" and verdict.message == "두 배가 맞습니다."
    assert capsys.readouterr().out == "✅ 정답 (correct)! 두 배가 맞습니다.\n"


def test_wrong_answer_gets_a_friendly_hint(capsys):
    verdict = check_double(lambda x: x + 2)
    assert not verdict and verdict.kind == "wrong"
    out = capsys.readouterr().out
    assert out == "💡 아직 아닙니다 (not yet): x = 0이면 0이어야 하는데 2입니다.\n"
    assert "정답" not in out


@pytest.mark.parametrize("answer", [None, lambda x: (_ for _ in ()).throw(NotImplementedError)])
def test_unfinished_exercise_says_todo(answer, capsys):
    verdict = check_double(answer)
    assert not verdict and verdict.kind == "todo"
    assert capsys.readouterr().out == f"✏️ {api._TODO}\n"


def test_a_students_crash_is_reported_not_raised(capsys):
    assert check_double(lambda x: 1 / 0).kind == "wrong"
    assert "ZeroDivisionError: division by zero" in capsys.readouterr().out


def test_an_answer_the_checker_did_not_foresee_is_a_hint_not_a_crash(capsys):
    @api.checker
    def check_fragile(answer):
        return f"{answer + 1}"  # fails on anything but a number

    assert check_fragile("text").kind == "wrong"
    assert "답을 확인하다가 예상하지 못한 오류가 났습니다 (TypeError" in capsys.readouterr().out


def test_a_verdict_shows_nothing_under_its_box():
    """IPython asks _ipython_display_ first: no Out[] with a bare True/False after the box."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        for verdict in (api.Verdict("correct", "좋아요"), api.Verdict("todo", api._TODO)):
            assert shell.display_formatter.format(verdict) == ({}, {})
    finally:
        InteractiveShell.clear_instance()
    assert repr(api.Verdict("wrong", "힌트")) == "Verdict('wrong', '힌트')"  # plain Python


def test_expect_tensor_names_shape_and_type():
    import torch

    api.expect_tensor(torch.zeros(2, 3), (2, 3), "x")
    with pytest.raises(api.Hint, match=r"x의 모양\(shape\)이 \(2, 3\)이어야 하는데 \(3, 2\)"):
        api.expect_tensor(torch.zeros(3, 2), (2, 3), "x")
    with pytest.raises(api.Hint, match=r"모양\(shape\)이 \(2, 4\)여야 하는데"):
        api.expect_tensor(torch.zeros(3, 2), (2, 4), "x")
    with pytest.raises(api.Hint, match="x는 torch.Tensor여야 합니다 .받은 것: list"):
        api.expect_tensor([1], (1,), "x")
    with pytest.raises(api.Hint, match="결과는 torch.Tensor"):
        api.expect_tensor([1], (1,), "결과")


def test_in_a_notebook_the_verdict_is_a_coloured_box(monkeypatch):
    shown = []
    monkeypatch.setattr(api, "in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda data, raw: shown.append(data))
    assert api.correct("<b>")
    assert shown[0]["text/plain"] == "✅ 정답 (correct)! <b>"
    assert "workbook-check-correct" in shown[0]["text/html"] and "&lt;b&gt;" in shown[0]["text/html"]


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def is_solution(cell: dict) -> bool:
    source = "".join(cell["source"])
    return "solution" in cell["metadata"].get("tags", []) or source.startswith("# 풀이")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_tagged_and_collapsed(path):
    """A solution cell: tag "solution", source hidden (collapsed), first line "# 풀이 (Solution)"."""
    for cell in filter(is_solution, code_cells(path)):
        source = "".join(cell["source"])
        first = source.split("\n")[0]
        assert "solution" in cell["metadata"].get("tags", []), f"{path.name}: untagged {first!r}"
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, (
            f"{path.name}: solution not collapsed: {first!r}")
        assert first.startswith("# 풀이 (Solution)"), f"{path.name}: first line {first!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_checked_exercise_is_followed_by_its_solution(path):
    cells = code_cells(path)
    for i, cell in enumerate(cells):
        if "helpers.checks.check_" in "".join(cell["source"]) and not is_solution(cell):
            assert i + 1 < len(cells) and is_solution(cells[i + 1]), (
                f"{path.name}: the exercise cell {''.join(cell['source'])[:60]!r} has no solution "
                "cell after it")


def test_the_convention_test_sees_an_open_solution():
    open_solution = {"metadata": {}, "source": ["# 풀이 (Solution)\n", "x = 1"]}
    assert is_solution(open_solution)
    assert open_solution["metadata"].get("jupyter", {}).get("source_hidden") is not True
