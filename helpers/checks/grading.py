"""Scores for autograding: a checker's verdict turned into the points nbgrader reads.

The student edition (``make editions``, ``tools/editions.py``) puts one locked grading cell
(채점 셀) under each exercise::

    helpers.checks.score(lambda: helpers.checks.check_q_sample(q_sample), points=1)

It runs the exercise's checker, so the student sees the same box as always, and ends with a
``Score``. nbgrader takes a grade cell's last value as its partial credit (the number in its
``text/plain``) and gives zero to a cell that shows an error or writes to stderr, so the checker
runs here with stderr sent to stdout and library logging held back: a progress bar or a library
warning never costs a student a point. A student sees "채점 점수 (score): 1 / 1" under the box.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Callable

from helpers.checks.api import Verdict, wrong


class Score:
    """The points one exercise earned: ``earned`` of ``points``, and the verdict behind them.

    Its plain text is the bare number (what nbgrader reads as partial credit); in a notebook it
    shows as one bold line.
    Used by helpers.checks.grading (no notebook calls it).
    """

    __slots__ = ("earned", "points", "verdict")

    def __init__(self, earned: float, points: float, verdict: Verdict) -> None:
        self.earned, self.points, self.verdict = earned, points, verdict

    def __repr__(self) -> str:
        return f"{self.earned:g}"

    def _repr_markdown_(self) -> str:
        return f"**채점 점수 (score): {self.earned:g} / {self.points:g}**"


def score(check: Callable[[], Verdict], points: float = 1.0) -> Score:
    """Return the ``Score`` of one exercise: ``points`` if ``check()`` says correct, else 0.

    ``check`` is a function of no arguments that calls the exercise's checker (a ``lambda``).
    If it fails before the checker can answer (the answer's name was deleted, say), the reason is
    shown as a hint and the score is 0. The student edition's grading cells call it.
    Used by tools/editions.py (no notebook calls it).
    """
    if not callable(check):
        raise TypeError("score needs a function that calls the checker, e.g. "
                        "helpers.checks.score(lambda: helpers.checks.check_kl(kl_term), points=1).")
    if not points > 0:
        raise ValueError(f"points must be positive, got {points!r}.")
    with contextlib.redirect_stderr(sys.stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            verdict = check()
        except Exception as error:  # noqa: BLE001 - any failure of the student's code is a hint
            verdict = wrong(f"채점할 수 없습니다: {type(error).__name__}: {error}. "
                            "위 칸들을 위에서부터 다시 실행해 보세요.")
        finally:
            logging.disable(logging.NOTSET)
    if not isinstance(verdict, Verdict):
        raise TypeError(f"the function given to score must return a checker's Verdict, got {verdict!r}.")
    return Score(float(points) if verdict else 0.0, float(points), verdict)
