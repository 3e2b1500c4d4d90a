"""How many pictures a notebook cell should show, read from its code, and how many it showed.

The rule students rely on: every drawing call shows its picture once, where it is called, whether
or not it is the cell's last line. ``expected_images(source, drawers)`` reads a cell with ``ast``
and counts its drawing calls: ``helpers.show_images(...)``, ``plt.show()``, a figure made with
``plt.subplots``/``plt.figure`` and left for the inline backend to show (when the cell has no
``plt.show()``), a call of a function the notebook defined that draws (``drawers``), and
``widgets.interact(f, ...)`` of such a function, which draws once at once. It returns None when
the count cannot be read from the code: a drawing call inside a loop, an ``if`` or a ``try``
(a function's body counts where the function is called). A cell whose last line is a bare expression may show one more picture (a PIL image as the
cell's value); ``allowed_extra`` says so. ``images_shown(outputs)`` counts the image outputs.
The root conftest.py applies both to every cell nbval runs (``make test``).
"""

from __future__ import annotations

import ast
import json
from functools import lru_cache
from pathlib import Path

#: Calls that draw one picture each, by the name they end in.
DRAWING_HELPERS = {"show_images"}
#: Calls that make a matplotlib figure the inline backend shows at the end of the cell.
FIGURE_MAKERS = {"subplots", "figure"}
#: Code that may run a drawing call any number of times, or not at all.
NESTING = (ast.For, ast.AsyncFor, ast.While, ast.If, ast.IfExp, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp, ast.Try, ast.Match, ast.BoolOp)
#: Definitions: their bodies run when called, not where they stand.
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _line(line: str) -> str | None:
    """Return a line as Python: ``%time x`` is ``x``; other magics and shell lines do nothing."""
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith(("%timeit", "%%timeit")):
        return None  # runs its code many times
    if stripped.startswith("%%time"):
        return indent + "pass"
    if stripped.startswith("%time "):
        return indent + stripped[len("%time "):]
    if stripped.startswith(("%", "!")):
        return indent + "pass"
    return line


def _parse(source: str) -> ast.Module | None:
    lines = [_line(line) for line in source.splitlines()]
    if None in lines:
        return None
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        prefix = func.value.id if isinstance(func.value, ast.Name) else ""
        return f"{prefix}.{func.attr}" if prefix else func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _kind(call: ast.Call, drawers: frozenset[str]) -> str | None:
    """Return "draw", "show" (plt.show), "figure" (plt.subplots/figure) or None for a call."""
    name = _name(call)
    last = name.rsplit(".", 1)[-1]
    if last in DRAWING_HELPERS or name in drawers:
        return "draw"
    if name == "plt.show":
        return "show"
    if name.startswith("plt.") and last in FIGURE_MAKERS:
        return "figure"
    if last in {"interact", "interactive_output"} and call.args:
        first = call.args[0]
        if isinstance(first, ast.Name) and first.id in drawers:
            return "draw"
    return None


def _calls(node: ast.AST, drawers: frozenset[str], nested: bool = False):
    """Yield (kind, nested) for every drawing call under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, DEFINITIONS):
            continue
        inner = nested or isinstance(child, NESTING)
        if isinstance(child, ast.Call):
            kind = _kind(child, drawers)
            if kind:
                yield kind, inner
        yield from _calls(child, drawers, inner)


def drawing_functions(sources: list[str]) -> frozenset[str]:
    """Return the names of functions defined in ``sources`` (a notebook's cells) that draw."""
    found: set[str] = set()
    changed = True
    while changed:  # a function calling a drawing function draws too
        changed = False
        for source in sources:
            tree = _parse(source)
            for node in ast.walk(tree) if tree else ():
                if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and node.name not in found
                        and any(kind in ("draw", "show") for kind, _ in _calls(node, frozenset(found)))):
                    found.add(node.name)
                    changed = True
    return frozenset(found)


def expected_images(source: str, drawers: frozenset[str] = frozenset()) -> int | None:
    """Return how many pictures the cell ``source`` must show, or None if its code cannot say."""
    tree = _parse(source)
    if tree is None:
        return None
    calls = list(_calls(tree, drawers))
    if any(nested for kind, nested in calls if kind in ("draw", "show")):
        return None
    draws = sum(kind == "draw" for kind, _ in calls)
    shows = sum(kind == "show" for kind, _ in calls)
    figures = sum(kind == "figure" for kind, _ in calls)
    if figures and any(nested for kind, nested in calls if kind == "figure"):
        return None
    return draws + (shows if shows else figures)


def allowed_extra(source: str) -> int:
    """Return 1 if the cell ends in a bare expression (its value may be a picture), else 0."""
    tree = _parse(source)
    if tree is None or not tree.body:
        return 0
    last = tree.body[-1]
    if not isinstance(last, ast.Expr):
        return 0
    if isinstance(last.value, ast.Call) and _name(last.value).rsplit(".", 1)[-1] in (
            DRAWING_HELPERS | {"show", "print", "show_table"}):
        return 0
    return 1


def images_shown(outputs: list) -> int:
    """Return how many image outputs (PNG, JPEG or SVG) a cell's ``outputs`` hold."""
    return sum(1 for out in outputs
               if out.get("output_type") in ("display_data", "execute_result")
               and {"image/png", "image/jpeg", "image/svg+xml"} & set(out.get("data", {})))


@lru_cache(maxsize=None)
def notebook_drawers(path: str) -> frozenset[str]:
    """Return ``drawing_functions`` of the notebook at ``path``."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return drawing_functions(["".join(c["source"]) for c in cells if c["cell_type"] == "code"])
