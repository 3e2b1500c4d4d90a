"""Checkers of 07_failure_cases: right answers pass, typical wrong ones fail (more in test_check_failure_cases_more)."""

from __future__ import annotations

from helpers import checks
from helpers.shapes import parse_two_caption


def split_two(text):
    left, right = parse_two_caption(text)
    return tuple(f"a small {o['color']} {o['shape']} at the {o['position']} on a {o['background']} background"
                 for o in (left, right))


def test_check_split_two():
    assert checks.check_split_two(split_two)
    assert not checks.check_split_two(None)
    assert not checks.check_split_two(lambda text: tuple(reversed(split_two(text))))
    assert not checks.check_split_two(lambda text: tuple(s.replace("small ", "") for s in split_two(text)))
    assert not checks.check_split_two(lambda text: split_two(text)[0])
    assert not checks.check_split_two(lambda text: 1 / 0)
