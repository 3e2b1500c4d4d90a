#!/usr/bin/env python3
"""Keep every public helper's "Used in ..." line true: it names the notebooks that use the helper.

    python tools/provenance.py                      # check: list the stale lines, exit 1 if any
    python tools/provenance.py --write              # rewrite the stale lines
    python tools/provenance.py --write helpers/core helpers/shapes/world.py   # only in these files

A helper is a function or class defined at the top of a module under helpers/ whose name does not
start with ``_``. Its docstring's last line says who uses it, found by reading the code (nothing is
imported or run):

- ``Used in 05_running_stable_diffusion, 10_responsible_generation.``: the notebooks whose code
  cells name it, however they reach it: ``helpers.<name>`` for what helpers/__init__.py exports,
  ``<module>.<name>`` after ``from helpers.x import <module>`` (with or without ``as``),
  ``<name>`` after ``from helpers.x.y import <name>``, and ``helpers.x.y.<name>``;
- else ``Used by helpers.core.generate, tools/gpu_budget.py (no notebook calls it).``: the helper
  modules and tools that name it the same way (``python -m helpers.x.y`` for a module's
  ``if __name__ == "__main__":`` block);
- else ``Used by no notebook, helper or tool; exported as helpers.<name>.`` for a name that
  helpers/__init__.py exports;
- else ``Used only by tests/test_x.py (no notebook, helper or tool calls it).``, found the same way
  over tests/ (tools/gpu_budget.py, for one, counts through a test);
- else ``Used by no notebook, helper or tool.``

Several modules of one package are written once: ``helpers.checks.{api, controlnet}``.

A long line is wrapped at 100 columns; the line then runs to the end of the docstring. Older
"Introduced in NN_name." sentences are removed wherever they stand. Which notebooks use a helper is
always read from every notebook, helper module and tool; the paths only limit which files are
checked or written.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WIDTH = 100
FIX = "python tools/provenance.py --write"
TAG_STARTS = ("Used in ", "Used by ", "Used only by ")
OLD_TAG = re.compile(r"\s*Introduced in \d\d_[a-z0-9_]+\.")
NOBODY = "Used by no notebook, helper or tool."
MAGIC = re.compile(r"^(\s*)[%!]")  # IPython line magics and shell escapes in notebook cells


@dataclass(frozen=True)
class Helper:
    """A public function or class of helpers: where it is defined and its docstring."""

    module: str
    name: str
    path: Path
    line: int
    doc: str


@dataclass
class Stale:
    """A helper whose docstring's last line does not say who uses it."""

    helper: Helper
    has: str
    wants: str


@dataclass
class Library:
    """The helpers package read from source: each module's names and where each one comes from."""

    root: Path
    trees: dict[str, ast.Module] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    packages: set[str] = field(default_factory=set)
    names: dict[str, dict[str, tuple]] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> Library:
        """Return the library under ``root``/helpers, every module parsed."""
        library = cls(root)
        for path in sorted((root / "helpers").rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if parts[-1] == "__init__":
                library.packages.add(module)
            library.paths[module] = path
            library.trees[module] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for module, tree in library.trees.items():
            library.names[module] = library._namespace(module, tree)
        return library

    def _namespace(self, module: str, tree: ast.Module) -> dict[str, tuple]:
        package = module if module in self.packages else module.rpartition(".")[0]
        names = import_bindings(tree, package)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = ("def", module, node.name)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
                for target in node.targets:  # ``alias = function``: the alias is the function
                    if isinstance(target, ast.Name):
                        names[target.id] = ("alias", module, node.value.id)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        names[target.id] = ("value", module, target.id)
        return names

    def helpers(self) -> list[Helper]:
        """Return every public function and class, module by module, in source order."""
        found = []
        for module, tree in self.trees.items():
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                        and not node.name.startswith("_"):
                    found.append(Helper(module, node.name, self.paths[module], node.lineno,
                                        ast.get_docstring(node) or ""))
        return found

    def attribute(self, module: str, name: str, depth: int = 0) -> tuple | None:
        """Return what ``module.name`` is: ("module", m), ("def", m, n), ("value", m, n) or None."""
        if depth > 20:
            return None
        if module in self.packages and f"{module}.{name}" in self.trees:
            return ("module", f"{module}.{name}")
        return self.resolve(self.names.get(module, {}).get(name), depth + 1)

    def resolve(self, binding: tuple | None, depth: int = 0) -> tuple | None:
        """Return what a binding finally names (following imports and aliases), or None."""
        if binding is None or binding[0] in ("module", "def", "value"):
            return binding
        kind, module, name = binding
        if kind == "from":
            if f"{module}.{name}" in self.trees:
                return ("module", f"{module}.{name}")
            return self.attribute(module, name, depth + 1)
        return self.attribute(module, name, depth + 1)  # "alias": a name in the same module


def import_bindings(tree: ast.AST, package: str = "") -> dict[str, tuple]:
    """Return the names that the imports in ``tree`` bind to helpers modules or their names.

    Imports anywhere count (inside functions too); ``package`` resolves relative imports.
    """
    names: dict[str, tuple] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "helpers":
                    continue
                if alias.asname:
                    names[alias.asname] = ("module", alias.name)
                else:
                    names["helpers"] = ("module", "helpers")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "helpers":
                continue
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = ("from", base, alias.name)
    return names


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


class _References(ast.NodeVisitor):
    """Collect the helpers' functions and classes that one piece of code names."""

    def __init__(self, library: Library, names: dict[str, tuple]):
        self.library, self.names, self.found = library, names, set()

    def _follow(self, target: tuple | None, attributes: list[str]) -> None:
        if target and target[0] == "def":
            self.found.add(target[1:])
        for attribute in attributes:
            if not target or target[0] != "module":
                return
            target = self.library.attribute(target[1], attribute)
            if target and target[0] == "def":
                self.found.add(target[1:])

    def visit_Name(self, node: ast.Name) -> None:
        self._follow(self.library.resolve(self.names.get(node.id)), [])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name):
            self._follow(self.library.resolve(self.names.get(base.id)), chain[::-1])
        else:
            self.visit(base)


def references(library: Library, tree: ast.AST, names: dict[str, tuple]) -> set[tuple[str, str]]:
    """Return the (module, name) of every helper that ``tree`` names, given its ``names``."""
    visitor = _References(library, names)
    visitor.visit(tree)
    return visitor.found


def notebook_code(path: Path) -> ast.Module:
    """Return the code cells of notebook ``path`` as one parsed module (magics become ``pass``)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    body = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = "\n".join(MAGIC.sub(r"\1pass  # ", line) for line in source.split("\n"))
        try:
            body.extend(ast.parse(source).body)
        except SyntaxError as error:
            raise SystemExit(f"{path.name}, code cell {i}: cannot parse: {error}") from error
    return ast.Module(body=body, type_ignores=[])


def users(library: Library) -> dict[tuple[str, str], tuple[set[str], set[str]]]:
    """Return, for each helper (module, name), the notebooks and the other code that name it.

    Other code is a helpers module (``helpers.core.generate``), ``python -m helpers.x.y`` for a
    module's ``__main__`` block, a tool (``tools/gpu_budget.py``) or a test (``tests/test_x.py``). A helper's own body naming
    itself does not count.
    """
    found: dict[tuple[str, str], tuple[set[str], set[str]]] = {}

    def note(refs: set[tuple[str, str]], notebook: str | None, code: str | None) -> None:
        for ref in refs:
            books, others = found.setdefault(ref, (set(), set()))
            (books.add(notebook) if notebook else others.add(code))

    for path in sorted((library.root / "notebooks").glob("*.ipynb")):
        tree = notebook_code(path)
        note(references(library, tree, import_bindings(tree)), path.stem, None)
    for module, tree in library.trees.items():
        names = library.names[module]
        for node in tree.body:
            refs = references(library, node, names)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                refs.discard((module, node.name))
            note(refs, None, f"python -m {module}" if _is_main_guard(node) else module)
    for folder in ("tools", "tests"):
        for path in sorted((library.root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            note(references(library, tree, import_bindings(tree)), None,
                 path.relative_to(library.root).as_posix())
    return found


def _grouped(modules: list[str]) -> list[str]:
    """Return helper module names with those of one package written once: helpers.checks.{api, x}."""
    packages: dict[str, list[str]] = {}
    for module in sorted(modules):
        package, _, leaf = module.rpartition(".")
        packages.setdefault(package, []).append(leaf)
    return [f"{package}.{leaves[0]}" if len(leaves) == 1 else f"{package}.{{{', '.join(leaves)}}}"
            for package, leaves in packages.items()]


def wanted_tag(notebooks: set[str], others: set[str], exported: str = "") -> str:
    """Return the docstring line that says who uses a helper (``exported``: its name in helpers)."""
    if notebooks:
        return f"Used in {', '.join(sorted(notebooks))}."
    tests = sorted(o for o in others if o.startswith("tests/"))
    modules = sorted(o for o in others if o.startswith("helpers"))
    rest = sorted(o for o in others if o not in tests and o not in modules)
    rest.sort(key=lambda o: o.startswith("tools/"))
    if modules or rest:
        return f"Used by {', '.join(_grouped(modules) + rest)} (no notebook calls it)."
    if exported:
        return f"Used by no notebook, helper or tool; exported as {exported}."
    if tests:
        return f"Used only by {', '.join(tests)} (no notebook, helper or tool calls it)."
    return NOBODY


def current_tag(doc: str) -> str:
    """Return the "Used in/by" line that ends docstring ``doc`` (wrapped lines joined), or ""."""
    lines = inspect.cleandoc(doc).rstrip().split("\n")
    for i in range(len(lines) - 1, 0, -1):
        if not lines[i].strip():
            break
        if lines[i].startswith(TAG_STARTS):
            return " ".join(line.strip() for line in lines[i:])
    return ""


def stale_tags(root: Path = REPO_ROOT, paths: list[Path] | None = None) -> list[Stale]:
    """Return the helpers (in ``paths``, default all) whose docstring does not say who uses them."""
    library = Library.read(root)
    use = users(library)
    exports = {name: library.attribute("helpers", name) for name in library.names.get("helpers", {})}
    exports = {name: target[1:] for name, target in exports.items() if target and target[0] == "def"}
    limit = [p.resolve() for p in paths] if paths else None
    stale = []
    for helper in library.helpers():
        where = helper.path.resolve()
        if limit and not any(where == p or p in where.parents for p in limit):
            continue
        exported = next((f"helpers.{name}" for name, target in exports.items()
                         if target == (helper.module, helper.name)), "")
        wants = wanted_tag(*use.get((helper.module, helper.name), (set(), set())), exported)
        has = current_tag(helper.doc)
        if has != wants or OLD_TAG.search(helper.doc):
            old = OLD_TAG.search(helper.doc)
            stale.append(Stale(helper, has or (old.group().strip() if old else "(no tag)"), wants))
    return stale


def _rewritten_literal(raw: str, tag: str, indent: str) -> str:
    """Return docstring literal ``raw`` (its source text) ending with ``tag`` in place of old tags."""
    prefix = re.match(r"[rRuU]*", raw).group()
    quote = raw[len(prefix):len(prefix) + 3] if raw[len(prefix):].startswith(('"""', "'''")) \
        else raw[len(prefix)]
    body = raw[len(prefix) + len(quote):len(raw) - len(quote)]
    apart = re.search(r"\n[ \t]*\n[ \t]*(Introduced in \d|Used (in|by|only by) )", body)
    lines = OLD_TAG.sub("", body).rstrip().split("\n")
    for i in range(len(lines) - 1, 0, -1):
        if not lines[i].strip():
            break
        if lines[i].strip().startswith(TAG_STARTS):
            del lines[i:]
            break
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    wrapped = textwrap.wrap(tag, width=WIDTH, initial_indent=indent, subsequent_indent=indent,
                            break_long_words=False, break_on_hyphens=False)
    gap = [""] if len(lines) == 1 or apart else []  # under a summary alone, or as it stood
    triple = quote if len(quote) == 3 else quote * 3
    return prefix + triple + "\n".join([*lines, *gap, *wrapped, indent]) + triple


def write_tags(stale: list[Stale]) -> None:
    """Rewrite the docstrings of the ``stale`` helpers so that each ends with its wanted line."""
    by_file: dict[Path, list[Stale]] = {}
    for item in stale:
        by_file.setdefault(item.helper.path, []).append(item)
    for path, items in by_file.items():
        source = path.read_text(encoding="utf-8")
        lines = [line + "\n" for line in source.split("\n")]  # as ast counts lines
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        nodes = {n.name: n for n in ast.parse(source).body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        edits = []
        for item in items:
            literal = nodes[item.helper.name].body[0]
            begin = starts[literal.lineno - 1] + len(lines[literal.lineno - 1].encode()[:literal.col_offset].decode())
            end = starts[literal.end_lineno - 1] + len(
                lines[literal.end_lineno - 1].encode()[:literal.end_col_offset].decode())
            indent = " " * (begin - starts[literal.lineno - 1])
            edits.append((begin, end, _rewritten_literal(source[begin:end], item.wants, indent)))
        for begin, end, text in sorted(edits, reverse=True):
            source = source[:begin] + text + source[end:]
        path.write_text(source, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Check (or with --write rewrite) the helpers' "Used in" lines; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the stale lines")
    parser.add_argument("paths", nargs="*", type=Path, help="only these files or folders under helpers/")
    args = parser.parse_args(argv)
    stale = stale_tags(REPO_ROOT, args.paths or None)
    for item in stale:
        where = f"{item.helper.path.relative_to(REPO_ROOT)}:{item.helper.line} {item.helper.name}"
        print(f"{'updated' if args.write else 'stale'}: {where}\n    has:   {item.has}\n    wants: {item.wants}")
    if args.write:
        write_tags(stale)
        return 0
    if stale:
        print(f"{len(stale)} stale; run: {FIX}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
