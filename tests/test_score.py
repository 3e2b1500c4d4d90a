"""helpers.checks.score: the student edition's grading cells turn a checker's verdict into points."""

from __future__ import annotations

import logging
import sys
import warnings

import pytest

import helpers
from helpers.checks.api import correct, wrong


def test_a_right_answer_earns_the_points_and_its_plain_text_is_the_number(capsys):
    got = helpers.checks.score(lambda: correct("좋아요"), points=2)
    assert (got.earned, got.points, repr(got)) == (2.0, 2.0, "2")  # nbgrader reads text/plain
    assert got._repr_markdown_() == "**채점 점수 (score): 2 / 2**"


def test_a_wrong_or_undone_answer_earns_nothing():
    assert repr(helpers.checks.score(lambda: wrong("아직"))) == "0"
    assert repr(helpers.checks.score(lambda: helpers.checks.check_q_sample(None))) == "0"


def test_a_failing_answer_is_a_hint_with_zero_not_an_error(capsys):
    def missing():
        return helpers.checks.check_q_sample(q_sample)  # noqa: F821 - the student deleted it

    got = helpers.checks.score(missing)
    assert repr(got) == "0" and got.verdict.kind == "wrong"
    assert "NameError" in capsys.readouterr().out


def test_nothing_reaches_stderr_while_checking(capsys):
    handler = logging.StreamHandler(sys.stderr)  # bound to stderr before, as libraries' handlers are
    logging.getLogger("diffusers").addHandler(handler)

    def noisy():
        print("progress", file=sys.stderr)
        warnings.warn("a library warning", stacklevel=1)
        logging.getLogger("diffusers").warning("a log line")
        return correct()

    try:
        helpers.checks.score(noisy)
    finally:
        logging.getLogger("diffusers").removeHandler(handler)
    assert capsys.readouterr().err == ""  # nbgrader gives 0 to a grade cell that writes to stderr
    assert logging.getLogger("diffusers").isEnabledFor(logging.WARNING)  # logging is back on


def test_bad_arguments_say_what_is_wanted():
    with pytest.raises(TypeError, match="lambda"):
        helpers.checks.score(helpers.checks.check_q_sample(None))
    with pytest.raises(ValueError, match="positive"):
        helpers.checks.score(lambda: correct(), points=0)
    with pytest.raises(TypeError, match="Verdict"):
        helpers.checks.score(lambda: True)
