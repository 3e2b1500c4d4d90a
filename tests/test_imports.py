"""Importing helpers does nothing but import: no output, no seeding, no thread or device changes."""

from __future__ import annotations

import ast
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import helpers

HELPERS_DIR = Path(helpers.__file__).resolve().parent

PROBE = r"""
import contextlib, importlib, io, json, random, sys
import numpy as np, torch
results = {}
for name in sys.argv[1:]:
    threads = torch.get_num_threads()
    rng = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state().tolist())
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        importlib.import_module(name)
    after = (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state().tolist())
    results[name] = {
        "stdout": out.getvalue(), "stderr": err.getvalue(),
        "threads_changed": torch.get_num_threads() != threads,
        "rng_changed": after != rng,
        "pyplot": "matplotlib.pyplot" in sys.modules,
    }
print(json.dumps(results))
"""


def _module_names() -> list[str]:
    return ["helpers"] + [f"helpers.{m.name}" for m in pkgutil.iter_modules([str(HELPERS_DIR)])]


def test_every_module_imports_silently_without_side_effects():
    names = _module_names()
    assert len(names) >= 9
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *names],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=HELPERS_DIR.parent,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for name, result in results.items():
        assert result["stdout"] == "", f"{name} printed {result['stdout']!r} on import"
        assert not result["threads_changed"], f"{name} changed torch threads on import"
        assert not result["rng_changed"], f"{name} seeded a random generator on import"
    assert results["helpers"]["pyplot"] is False  # matplotlib.pyplot loads only when showing


def test_helpers_import_light():
    """Importing helpers must not pull in diffusers or transformers (loaded on first use)."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, helpers; print(sorted(m for m in "
            "('diffusers', 'transformers', 'matplotlib.pyplot') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HELPERS_DIR.parent,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_no_star_imports_in_helpers():
    for path in HELPERS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert all(alias.name != "*" for alias in node.names), f"star import in {path.name}"


def test_public_helpers_say_what_they_return_and_where_introduced():
    notebooks = {p.stem for p in (HELPERS_DIR.parent / "notebooks").glob("*.ipynb")}
    for name in helpers.__all__:
        obj = getattr(helpers, name)
        if not inspect.isfunction(obj):
            continue
        doc = inspect.getdoc(obj)
        assert doc, f"{name} has no docstring"
        first, last = doc.splitlines()[0], doc.splitlines()[-1]
        assert first.startswith("Return"), f"{name}: first line should say what it returns"
        assert last.startswith("Introduced in "), f"{name}: last line should name its notebook"
        notebook = last.removeprefix("Introduced in ").rstrip(".")
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", notebook), f"{name}: {notebook!r} is no notebook name"
        # Later notebooks may still be in the making; the ones that exist must match exactly.
        written = {n[:2] for n in notebooks}
        if notebook[:2] in written:
            assert notebook in notebooks, f"{name} names {notebook}, which is not a notebook"
