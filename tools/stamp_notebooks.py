#!/usr/bin/env python3
"""Stamp every notebook's "Open in Colab" badge and Colab set-up cell from one place.

The repository URL lives in helpers/core/config.py (REPO_URL; the WORKBOOK_REPO_URL environment
variable or --repo-url overrides it, e.g. for a fork). Never edit the badge or the set-up cell
by hand: change this script or the URL, then run

    python tools/stamp_notebooks.py            # rewrite notebooks/*.ipynb in place
    python tools/stamp_notebooks.py --check    # exit 1 if any notebook is out of step

The badges ("Open in Colab", and "Launch Binder" beside it) sit in the first markdown cell, on the
line after the marker ``<!-- colab-badge -->``
(added under the title if missing). The set-up cell is the first code cell, recognised by its
first line ``# colab-setup``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
BADGE_MARKER = "<!-- colab-badge -->"
CELL_MARKER = "# colab-setup"
CELL_ID = "colab-setup"
COLAB_DIR = "/content/sd-workbook"

COLAB_CELL = '''# colab-setup: in Google Colab this installs the workbook; anywhere else it does nothing.
# Stamped by tools/stamp_notebooks.py (URL from helpers/core/config.py). Safe to run twice.
import importlib
import os
import subprocess
import sys
from importlib import metadata


def loaded_versions() -> dict:
    \"\"\"Return {{distribution: version}} of the installed packages this kernel has imported.\"\"\"
    importlib.invalidate_caches()  # read what is on disk now, after pip
    found = metadata.packages_distributions()
    loaded = found.keys() & {{name.partition(".")[0] for name in sys.modules}}
    return {{dist: metadata.version(dist) for top in loaded for dist in found[top]}}


def changed(before: dict, after: dict) -> list:
    \"\"\"Return "name old → new" for each distribution in ``before`` whose version is different.\"\"\"
    return [f"{{d}} {{v}} → {{after.get(d, '-')}}"
            for d, v in sorted(before.items()) if after.get(d) != v]


if "google.colab" in sys.modules:
    REPO_URL = "{repo_url}"
    TARGET = os.environ.get("WORKBOOK_COLAB_DIR", "{colab_dir}")
    if not os.path.isdir(os.path.join(TARGET, ".git")):
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, TARGET], check=True)
    if not os.path.exists(os.path.join(TARGET, ".colab-installed")):
        # Plain install, no upgrade and no constraints: Colab keeps its own CUDA torch.
        before = loaded_versions()
        pip = os.environ.get("WORKBOOK_PIP", f"{{sys.executable}} -m pip").split()
        subprocess.run([*pip, "install", "-q", "-e", TARGET], check=True)
        open(os.path.join(TARGET, ".colab-installed"), "w").close()
        if updated := changed(before, loaded_versions()):  # imported here, then changed by pip
            print("⚠️ 이미 불러온 패키지가 바뀌었으니 런타임 → 세션 다시 시작을 누르고"
                  " 이 셀부터 다시 실행하세요. (Restart needed: Runtime → Restart session.)",
                  *updated, sep="\\n  ")
    os.chdir(os.path.join(TARGET, "notebooks"))
    if TARGET not in sys.path:
        sys.path.insert(0, TARGET)'''


def default_repo() -> tuple[str, str]:
    """Return (repo URL, branch) from helpers/core/config.py, which reads WORKBOOK_REPO_URL."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from helpers.core.config import REPO_BRANCH, REPO_URL
    finally:
        sys.path.remove(str(REPO_ROOT))
    return REPO_URL, REPO_BRANCH


def colab_cell_source(repo_url: str, colab_dir: str = COLAB_DIR) -> str:
    """Return the source of the Colab set-up cell that clones ``repo_url``."""
    if '"' in repo_url or "\\" in repo_url:
        raise ValueError(f"repo URL must not contain quotes or backslashes: {repo_url!r}")
    return COLAB_CELL.format(repo_url=repo_url, colab_dir=colab_dir)


def badge_markdown(repo_url: str, branch: str, notebook_name: str) -> str:
    """Return the marker line and the "Open in Colab" and "Launch Binder" badges for one notebook."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repo_url)
    if not match:
        raise ValueError(f"the Colab badge needs a https://github.com/owner/repo URL, got {repo_url!r}")
    owner, repo = match.groups()
    link = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/notebooks/{notebook_name}"
    image = "https://colab.research.google.com/assets/colab-badge.svg"
    # Binder (repo2docker reads binder/): the same notebook in JupyterLab on a CPU, bundled model
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?urlpath=lab/tree/notebooks/{notebook_name}"
    return (f"{BADGE_MARKER}\n[![Open In Colab]({image})]({link}) "
            f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def _stamp_badge(source: str, badge: str) -> str:
    lines = source.split("\n")
    if BADGE_MARKER in lines:
        at = lines.index(BADGE_MARKER)
        del lines[at : at + 2]  # the marker and the badge line under it
    else:
        at = 1 if lines and lines[0].startswith("#") else 0
        badge = f"{badge}\n" if at == 0 else badge  # keep a blank line before the text
    lines[at:at] = badge.split("\n")
    return "\n".join(lines)


def stamp_notebook(nb: nbformat.NotebookNode, name: str, repo_url: str, branch: str) -> bool:
    """Stamp the badge and set-up cell into ``nb`` in place; return True if anything changed."""
    before = nbformat.writes(nb)
    markdown = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if markdown is None:
        markdown = nbformat.v4.new_markdown_cell(f"# {name}")
        nb.cells.insert(0, markdown)
    markdown.source = _stamp_badge(markdown.source, badge_markdown(repo_url, branch, name))
    code = [c for c in nb.cells if c.cell_type == "code"]
    cell_source = colab_cell_source(repo_url)
    if code and code[0].source.startswith(CELL_MARKER):
        code[0].source = cell_source
    else:
        stale = [c for c in code if c.source.startswith(CELL_MARKER)]
        for cell in stale:
            nb.cells.remove(cell)
        cell = nbformat.v4.new_code_cell(cell_source)
        cell.id = CELL_ID
        nb.cells.insert(nb.cells.index(markdown) + 1, cell)
    return nbformat.writes(nb) != before


def main(argv: list[str] | None = None) -> int:
    """Stamp (or with --check, verify) every notebook; return the exit status."""
    url, branch = default_repo()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report notebooks out of step")
    parser.add_argument("--repo-url", default=url)
    parser.add_argument("--branch", default=branch)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    stale = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if stamp_notebook(nb, path.name, args.repo_url, args.branch):
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "out of step" if args.check else "stamped"
    for path in stale:
        print(f"{verb}: {path}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
