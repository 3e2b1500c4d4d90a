"""helpers.checks: one module per notebook, each checker tagged with, and called in, its notebook."""

from __future__ import annotations

import inspect
import json
import pkgutil
from pathlib import Path

from helpers import checks
from helpers.checks import api

ROOT = Path(__file__).resolve().parent.parent
#: notebook name without its number ("gan_vae_recap") -> full stem ("01_gan_vae_recap")
NOTEBOOKS = {p.stem[3:]: p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
NOT_A_NOTEBOOK = {"api", "grading", "korean_particles"}


def exercise_sources(stem: str) -> str:
    """Return the code of a notebook's cells, solutions left out."""
    cells = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"
                     and "solution" not in c["metadata"].get("tags", []))


def checker_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(checks.__path__) if m.name not in NOT_A_NOTEBOOK)


def checkers_of(module: str) -> list[str]:
    """Return the check_* functions defined in helpers.checks.<module>, in source order."""
    namespace = vars(__import__(f"helpers.checks.{module}", fromlist=["_"]))
    found = [(inspect.unwrap(f).__code__.co_firstlineno, name) for name, f in namespace.items()
             if name.startswith("check_") and inspect.isfunction(f) and f.__module__ == f"helpers.checks.{module}"]
    return [name for _, name in sorted(found)]


def test_one_checker_module_per_notebook_that_has_exercises():
    with_exercises = {name for name, stem in NOTEBOOKS.items() if "helpers.checks.check_" in exercise_sources(stem)}
    assert with_exercises == set(NOTEBOOKS)  # every notebook checks its student (#19)
    assert set(checker_modules()) == with_exercises
    # at least one exercise writing the lesson's core and one measuring, each with its checker
    assert {m: len(checkers_of(m)) for m in checker_modules() if len(checkers_of(m)) < 2} == {}


def test_every_checker_is_re_exported_in_notebook_order():
    in_order = [name for module in sorted(checker_modules(), key=lambda m: NOTEBOOKS[m])
                for name in checkers_of(module)]
    assert checks.__all__ == in_order + ["score"]  # then the grading cells' one helper
    for module in checker_modules():
        for name in checkers_of(module):
            assert getattr(checks, name) is getattr(__import__(f"helpers.checks.{module}", fromlist=["_"]), name)


def test_each_checker_is_tagged_with_and_called_in_its_notebook():
    for module in checker_modules():
        stem = NOTEBOOKS[module]
        source = exercise_sources(stem)
        for name in checkers_of(module):
            doc = inspect.getdoc(getattr(checks, name))
            assert doc.startswith("Return a true Verdict"), name
            assert doc.endswith(f"Used in {stem}."), f"{name} is in checks/{module}.py"  # tools/provenance.py
            assert f"helpers.checks.{name}(" in source, f"{stem} never calls {name}"


def test_the_api_module_holds_no_checker():
    assert not [name for name in vars(api) if name.startswith("check_")]
