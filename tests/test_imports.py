"""Importing helpers does nothing but import: no output, no seeding, no thread or device changes."""

from __future__ import annotations

import ast
import inspect
import json
import pkgutil
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
    return ["helpers"] + sorted(m.name for m in pkgutil.walk_packages([str(HELPERS_DIR)], prefix="helpers."))


def test_every_module_imports_silently_without_side_effects():
    names = _module_names()
    assert len(names) >= 50
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
    for path in HELPERS_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert all(alias.name != "*" for alias in node.names), f"star import in {path.name}"


# ---- the rooms and the rules between them ---------------------------------------------------------
#: Which rooms each room may import (besides itself). core is plumbing: it imports nothing else;
#: nothing but tools and tests imports gpu_budget; lessons never import how the models were made.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "shapes": {"core"},
    "performance": {"core"},
    "prompting": {"core", "shapes"},
    "control": {"core", "shapes"},
    "editing": {"core", "shapes"},
    "responsible": {"core", "shapes"},
    "classroom": {"core", "shapes"},
    # a checker re-measures with the lesson's own functions (08: pose_control)
    "checks": {"core", "shapes", "responsible", "control"},
    # the ControlNet is measured with 08's own functions; the hands LoRA is trained with 09's;
    # mini-sd3 is compared with mini-sd on 07's two-object prompts with 07's own reading
    "training": {"core", "shapes", "control", "editing", "prompting"},
    "gpu_budget": {"core"},
}


def _imports(path: Path) -> set[str]:
    """Every helpers module ``path`` imports, at the top or inside a function."""
    package = ".".join(path.relative_to(HELPERS_DIR.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("helpers.")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the package
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base == "helpers" or base.startswith("helpers."):
                for alias in node.names:  # `from helpers.shapes import reader` imports a module
                    candidate = f"{base}.{alias.name}"
                    module = HELPERS_DIR.parent / (candidate.replace(".", "/") + ".py")
                    package_dir = HELPERS_DIR.parent / candidate.replace(".", "/")
                    found.add(candidate if module.is_file() or package_dir.is_dir() else base)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in HELPERS_DIR.rglob("*.py"):
        name = ".".join(path.relative_to(HELPERS_DIR.parent).with_suffix("").parts).removesuffix(".__init__")
        graph[name] = _imports(path)
    return graph


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else None


def test_every_room_imports_only_the_rooms_below_it():
    graph = _graph()
    assert set(ALLOWED) == {_room(m) for m in graph if _room(m)}, "a room is missing from ALLOWED"
    broken = []
    for module, imported in sorted(graph.items()):
        room = _room(module)
        if room is None:  # helpers/__init__.py: the public surface imports every room
            continue
        for other in sorted(imported):
            other_room = _room(other)
            if other_room and other_room != room and other_room not in ALLOWED[room]:
                broken.append(f"{module} imports {other} ({room} may import {sorted(ALLOWED[room]) or 'nothing else'})")
    assert not broken, "\n".join(broken)


def test_no_import_cycles_even_through_imports_inside_functions():
    full = _graph()
    graph = {m: {i for i in imports if i in full} for m, imports in full.items()}
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or nxt == "helpers":
                continue
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path else f"{node} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_public_helpers_say_what_they_return():
    """Which notebooks use each helper is checked by tests/test_provenance.py."""
    for name in helpers.__all__:
        obj = getattr(helpers, name)
        if not inspect.isfunction(obj):
            continue
        doc = inspect.getdoc(obj)
        assert doc, f"{name} has no docstring"
        assert doc.splitlines()[0].startswith("Return"), f"{name}: first line should say what it returns"
