"""Class time: every notebook's recorded full mode fits a class, measured on a quiet machine."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = json.loads((ROOT / "tools" / "timings.json").read_text())
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_full_mode_fits_the_class_time_budget_and_fast_mode_a_minute(stem):
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import CLASS_BUDGET_S, FAST_BUDGET_S, QUIET_SHARE

    entry = TIMINGS.get(stem)
    assert entry and "cpu_full_s" in entry and "cpu_fast_s" in entry, (
        f"{stem}: no recorded time; run python tools/run_notebooks.py build {stem} --record "
        "(and --fast) on a quiet machine")
    assert entry["cpu_full_s"] <= CLASS_BUDGET_S, (
        f"{stem}: full mode took {entry['cpu_full_s']} s, over the {CLASS_BUDGET_S} s class budget")
    assert entry["cpu_fast_s"] < FAST_BUDGET_S, f"{stem}: fast mode took {entry['cpu_fast_s']} s"
    for mode in ("full", "fast"):
        share = entry.get(f"cpu_{mode}_others_share")
        assert share is not None and share <= QUIET_SHARE, (
            f"{stem}: the {mode}-mode time was not taken on a quiet machine (other processes used "
            f"{share} of the CPU; at most {QUIET_SHARE} counts as quiet)")
        assert entry.get(f"cpu_{mode}_torch_threads"), f"{stem}: torch threads not recorded"
