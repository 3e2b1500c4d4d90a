"""show_table: numbers written by their column's spec as an f-string would, columns lined up."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers.core.tables import show_table, table_text


def test_numbers_keep_their_f_string_digits_and_columns_line_up():
    rows = [("DDIM, 50 steps", 1.23456, 0.5, 3), ("DDPM, 1000 steps", 12.0, 0.25, 12345)]
    text = table_text(rows, ["sampler", "seconds", "clean", "count"], ["", ".1f", ".2f", ","])
    lines = text.splitlines()
    assert lines[0].split() == ["sampler", "seconds", "clean", "count"]
    assert set(lines[1]) == {"-", " "}  # tabulate's "simple" rule under the header
    assert lines[2].split() == ["DDIM,", "50", "steps", "1.2", "0.50", "3"]
    assert lines[3].split() == ["DDPM,", "1000", "steps", "12.0", "0.25", "12,345"]
    assert len({len(line) for line in lines}) == 1  # every line as wide: the columns line up
    assert lines[2].index("DDIM") == lines[3].index("DDPM") == 0  # text left-aligned
    assert lines[2].endswith("   3") and lines[3].endswith("12,345")  # numbers right-aligned


def test_one_spec_for_all_columns_and_an_empty_spec_writes_as_str():
    assert table_text([(7.5, 10.0, 2)], ["w", "x", "n"]).splitlines()[2].split() == ["7.5", "10.0", "2"]
    assert table_text([(0.12345, 2)], ["a", "b"], ".3f").splitlines()[2].split() == ["0.123", "2.000"]
    assert f"{0.125:.2f}" in table_text([(0.125,)], ["x"], ".2f")  # Python's rounding, not another


def test_tensors_numpy_none_text_and_nan():
    rows = [(torch.tensor(0.5), np.float32(0.25), np.int64(4), None, "a"),
            (torch.tensor(1.0), float("nan"), 5, 2, "b")]
    lines = table_text(rows, ["t", "np", "i", "maybe", "s"], [".4f", ".2f", "", "", ""]).splitlines()
    assert lines[2].split() == ["0.5000", "0.25", "4", "a"]  # None is an empty cell
    assert lines[3].split() == ["1.0000", "nan", "5", "2", "b"]
    assert lines[2].endswith("a") and lines[3].endswith("b")


def test_numeric_looking_text_stays_as_written():
    """Text such as "0.50" or "8/8" is not read back as a number and re-formatted."""
    lines = table_text([("0.50", "8/8"), ("10", "7/8")], ["x", "y"], ".1f").splitlines()
    assert lines[2].split() == ["0.50", "8/8"] and lines[3].split() == ["10", "7/8"]


def test_show_table_prints_and_returns_nothing(capsys):
    assert show_table([("a", 1.0)], ["name", "x"], ["", ".3f"]) is None
    assert capsys.readouterr().out == table_text([("a", 1.0)], ["name", "x"], ["", ".3f"]) + "\n"


def test_wrong_row_length_or_spec_count_is_an_error():
    with pytest.raises(ValueError, match="every row needs 2 values"):
        table_text([(1, 2, 3)], ["a", "b"])
    with pytest.raises(ValueError, match="3 specs for 2 columns"):
        table_text([(1, 2)], ["a", "b"], ["", "", ""])
