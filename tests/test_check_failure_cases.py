"""Checkers of 07_failure_cases: right answers pass, typical wrong ones fail."""

from __future__ import annotations

import numpy as np

from helpers import checks
from helpers.prompting.attention_maps import mass_share
from helpers.shapes import parse_two_caption


def test_check_mass_share():
    assert checks.check_mass_share(mass_share)
    assert not checks.check_mass_share(None)
    assert not checks.check_mass_share(lambda heat, mask: float(np.asarray(heat)[mask].sum()))  # not divided
    assert not checks.check_mass_share(lambda heat, mask: float(np.asarray(mask).mean()))  # the area
    assert not checks.check_mass_share(lambda heat, mask: 1 / 0)


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


def test_check_best_fix():
    fixes = {"baseline": {"all": 0.0}, "more steps": {"all": 0.02}, "inpainting": {"all": 0.4}}
    assert checks.check_best_fix("inpainting", fixes)
    assert not checks.check_best_fix("more steps", fixes)
    assert not checks.check_best_fix("magic", fixes)
    assert not checks.check_best_fix(None, fixes)
