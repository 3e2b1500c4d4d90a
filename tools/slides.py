#!/usr/bin/env python3
"""Keep every notebook a slideshow: slide metadata from its structure, presenter fonts, reveal.js export.

    python tools/slides.py                  # write the slide types into notebooks/*.ipynb, and rise.css
    python tools/slides.py --check          # exit 1 if a notebook or rise.css is out of step
    python tools/slides.py --export --fast  # make slides FAST=1: execute, then build/slides/<name>.slides.html
    python tools/slides.py --export 05      # only some notebooks (full mode without --fast)

Each cell's ``metadata.slideshow.slide_type`` (the key RISE and nbconvert read) follows from the
notebook's structure, never by hand, so it stays in step when a lesson changes:

- the first cell (the title) and each ``## `` section heading: "slide" (a title slide per section);
- a ``### `` heading, and prose that follows code (a new prose → code → picture step): "subslide";
- a code cell that draws a figure (``show_images``, ``image_grid``, ``plt.``, ...): "fragment",
  so the picture builds up after the prose above it on a key press;
- the Colab set-up cell and solution cells (tag "solution"): "skip";
- every other cell: "-" (it joins the slide above).

The notebook-level ``metadata.rise`` holds the live slideshow's settings (jupyterlab-rise reads it),
and notebooks/rise.css, which jupyterlab-rise loads next to the notebook, gives the live slideshow
presenter mode's large fonts (helpers/core/presenter.py SLIDE_FONT_PX); the static export injects
the same CSS. The export loads reveal.js, require.js and jQuery from build/slides/lib/, fetched once
with ``npm pack`` from the npm registry into .cache/slides-js/; without npm it falls back to the
CDN (then the slides need internet) and says so. MathJax always comes from its CDN: offline, the
slides show formulas as TeX source.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings in tools/
from editions import SOLUTION_TAG  # noqa: E402
from run_notebooks import execute, notebooks  # noqa: E402
from stamp_notebooks import CELL_MARKER as COLAB_MARKER  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
RISE_CSS = NOTEBOOK_DIR / "rise.css"
SLIDES_DIR = REPO_ROOT / "build" / "slides"
JS_CACHE = REPO_ROOT / ".cache" / "slides-js"
#: A code cell that draws a picture or a plot names one of these.
FIGURE = re.compile(r"\b(show_images|image_grid|show_grid|imshow|display)\s*\(|\bplt\.\w+\s*\(|"
                    r"\bfig\b\s*[,=]|\bfig\.\w+\s*\(")
#: The live slideshow's settings (jupyterlab-rise merges them over its defaults).
RISE_SETTINGS = {"scroll": True, "start_slideshow_at": "beginning", "transition": "fade",
                 "slideNumber": True, "center": False}
#: JavaScript the static export loads from build/slides/lib/: name there → (npm package, version,
#: a file inside the package, or the folders to keep). reveal.js is nbconvert's default version.
JS = {"reveal.js": ("reveal.js", "4.0.2", ("dist", "plugin")),
      "require.js": ("requirejs", "2.3.6", "require.js"),
      "jquery.min.js": ("jquery", "2.2.4", "dist/jquery.min.js")}


def slide_type(cell: nbformat.NotebookNode, index: int, previous: nbformat.NotebookNode | None) -> str:
    """Return the slide type of ``cell`` (the ``index``-th), given the last shown cell before it."""
    source = cell.source.lstrip()
    if index == 0:
        return "slide"
    if cell.cell_type == "code":
        if source.startswith(COLAB_MARKER) or SOLUTION_TAG in cell.metadata.get("tags", []):
            return "skip"
        if FIGURE.search(cell.source) and previous is not None:
            return "fragment"
        return "-"
    if source.startswith("## "):
        return "slide"
    if source.startswith("### ") or (previous is not None and previous.cell_type == "code"):
        return "subslide"
    return "-"


def slide_types(nb: nbformat.NotebookNode) -> list[str]:
    """Return the slide type of every cell of ``nb``, in order."""
    types: list[str] = []
    previous = None
    for index, cell in enumerate(nb.cells):
        kind = slide_type(cell, index, previous)
        types.append(kind)
        if kind != "skip":  # a skipped cell is not shown: the next cell follows the one before
            previous = cell
    return types


def stamp(nb: nbformat.NotebookNode) -> bool:
    """Write the slide types and RISE settings into ``nb``; return True if anything changed."""
    changed = False
    for cell, kind in zip(nb.cells, slide_types(nb), strict=True):
        if cell.metadata.get("slideshow") != {"slide_type": kind}:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
    if nb.metadata.get("rise") != RISE_SETTINGS:
        nb.metadata["rise"] = dict(RISE_SETTINGS)
        changed = True
    return changed


def rise_css() -> str:
    """Return the text notebooks/rise.css must hold (presenter fonts for the live slideshow)."""
    sys.path.insert(0, str(REPO_ROOT))
    from helpers.core.presenter import slide_css

    return slide_css()


def sync(paths: list[Path], check: bool) -> int:
    """Stamp ``paths`` and rise.css (or, with ``check``, only report); return the exit status."""
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if stamp(nb):
            stale.append(path.name)
            if not check:
                nbformat.write(nb, path)
    css = rise_css()
    if not RISE_CSS.exists() or RISE_CSS.read_text(encoding="utf-8") != css:
        stale.append(RISE_CSS.name)
        if not check:
            RISE_CSS.write_text(css, encoding="utf-8")
    if check and stale:
        print(f"slides out of step: {', '.join(stale)}; run python tools/slides.py", file=sys.stderr)
        return 1
    print(("in step: " if check or not stale else "wrote: ") + (", ".join(stale) or f"{len(paths)} notebooks"))
    return 0


def cached_js(cache: Path = JS_CACHE) -> Path:
    """Return the folder that holds (or will hold) JS's files under ``cache``."""
    return cache / "-".join(f"{package}@{version}" for package, version, _ in JS.values())


def fetch_js(cache: Path = JS_CACHE) -> Path | None:
    """Return the folder holding JS's files, fetched once with ``npm pack``; None without npm."""
    folder = cached_js(cache)
    if all((folder / name).exists() for name in JS):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        print("make slides: npm is missing, so the slides load reveal.js from its CDN (needs internet)")
        return None
    print(f"make slides: fetching {', '.join(f'{p}@{v}' for p, v, _ in JS.values())} from the npm "
          f"registry into {folder.relative_to(REPO_ROOT)} (once)")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "staged"
        staged.mkdir()
        for name, (package, version, inside) in JS.items():
            run = subprocess.run([npm, "pack", f"{package}@{version}", "--silent"], cwd=tmp,
                                 capture_output=True, text=True, timeout=300)
            if run.returncode != 0:
                print(f"make slides: npm pack {package}@{version} failed, so the slides load reveal.js "
                      f"from its CDN (needs internet): {run.stderr.strip()[-300:]}")
                return None
            with tarfile.open(Path(tmp) / run.stdout.strip().splitlines()[-1]) as archive:
                archive.extractall(Path(tmp) / package, filter="data")
            source = Path(tmp) / package / "package"
            if isinstance(inside, tuple):
                for part in inside:
                    shutil.copytree(source / part, staged / name / part)
            else:
                shutil.copy(source / inside, staged / name)
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, folder)
    return folder


def export(nb: nbformat.NotebookNode, target: Path, lib: str | None) -> None:
    """Write the executed ``nb`` to ``target`` as reveal.js slides with presenter fonts.

    ``lib`` is the folder (relative to ``target``) holding reveal.js/ and require.js; None: the CDN.
    """
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(reveal_scroll=True, reveal_theme="simple", reveal_transition="fade")
    if lib is not None:
        exporter.reveal_url_prefix = f"{lib}/reveal.js"
        exporter.require_js_url = f"{lib}/require.js"
        exporter.jquery_url = f"{lib}/jquery.min.js"
    body, _ = exporter.from_notebook_node(nb)
    style = f'<style id="presenter-fonts">\n{rise_css()}</style>\n'
    body = body.replace("</head>", style + "</head>", 1)
    target.write_text(body, encoding="utf-8")


def copy_js(folder: Path, out: Path) -> str:
    """Copy JS's files from ``folder`` into ``out``/lib; return that folder relative to ``out``."""
    lib = out / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    shutil.copytree(folder, lib)
    return "lib"


def build(names: list[str], fast: bool, out: Path = SLIDES_DIR) -> int:
    """Execute the notebooks (make build's way) and export each as slides into ``out``; return the exit status."""
    out.mkdir(parents=True, exist_ok=True)
    cache = fetch_js()
    lib = copy_js(cache, out) if cache is not None else None
    failed = []
    for path in notebooks(names):
        nb, error = execute(path, fast=fast, cache=False, timeout=1800)
        target = out / f"{path.stem}.slides.html"
        export(nb, target, lib)
        print(f"{path.stem}: {'ok' if error is None else 'FAILED: ' + error} → {target.relative_to(REPO_ROOT)}")
        if error is not None:
            failed.append(path.stem)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if out of step")
    parser.add_argument("--export", action="store_true", help="execute and write build/slides/")
    parser.add_argument("--fast", action="store_true", help="with --export: fast mode (WORKBOOK_FAST=1)")
    parser.add_argument("notebooks", nargs="*", help="names like 05 or paths (default: all)")
    args = parser.parse_args(argv)
    if args.export:
        return build(args.notebooks, args.fast)
    paths = notebooks(args.notebooks)  # names, NN prefixes or paths, as make build takes them
    return sync(paths, args.check)


if __name__ == "__main__":
    sys.exit(main())
