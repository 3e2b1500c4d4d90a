"""Notebooks are stored clean (no outputs, counts, widget state, Colab metadata) and stamped."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COLAB_KEYS = {"colab", "accelerator", "widgets", "gpuClass"}
CELL_COLAB_KEYS = {"colab", "id", "outputId", "executionInfo"}


def load_stamper():
    spec = importlib.util.spec_from_file_location(
        "stamp_notebooks", ROOT / "tools" / "stamp_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def problems(nb: dict) -> list[str]:
    """Return what is not clean in notebook ``nb`` (empty when clean)."""
    found = [f"notebook metadata {k}" for k in COLAB_KEYS & set(nb.get("metadata", {}))]
    for i, cell in enumerate(nb["cells"]):
        if cell.get("outputs"):
            found.append(f"cell {i} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {i} has an execution count")
        found += [f"cell {i} metadata {k}" for k in CELL_COLAB_KEYS & set(cell.get("metadata", {}))]
    return found


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_setup_check.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_clean(path):
    assert problems(json.loads(path.read_text())) == []


def test_checker_sees_dirt():
    dirty = {
        "metadata": {"colab": {"provenance": []}, "widgets": {}},
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "outputs": [{"output_type": "stream"}],
                "metadata": {"id": "x1", "executionInfo": {}},
                "source": "",
            },
        ],
    }
    assert len(problems(dirty)) == 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_skeleton(path):
    nb = json.loads(path.read_text())
    first_md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    text = "".join(first_md["source"])
    assert text.startswith("# ") and "이 노트북에서 배우는 것" in text
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0].startswith("# colab-setup")
    assert "import helpers" in code[1] and "helpers.setup(seed=0" in code[1]  # 11: family="sd3"
    sources = "\n".join("".join(c["source"]) for c in nb["cells"])
    assert "import *" not in sources and "%pip install" not in sources and "!pip" not in sources


def test_badges_and_colab_cells_are_in_step():
    stamper = load_stamper()
    url, branch = stamper.default_repo()
    for path in NOTEBOOKS:
        import nbformat

        nb = nbformat.read(path, as_version=4)
        assert stamper.stamp_notebook(nb, path.name, url, branch) is False, f"restamp {path.name}"
        assert f"blob/{branch}/notebooks/{path.name}" in nb.cells[0].source


def test_stamper_restamps_a_changed_url(tmp_path):
    stamper = load_stamper()
    copy = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], copy)
    fork = "https://github.com/someone/fork"
    assert stamper.main(["--check", "--repo-url", fork, str(copy)]) == 1
    assert stamper.main(["--repo-url", fork, str(copy)]) == 0
    assert stamper.main(["--check", "--repo-url", fork, str(copy)]) == 0
    text = copy.read_text()
    assert text.count("github/someone/fork/blob/main/notebooks/") == 1
    assert text.count(f'REPO_URL = \\"{fork}\\"') == 1
    with pytest.raises(ValueError, match="github.com/owner/repo"):
        stamper.badge_markdown("file:///tmp/repo", "main", "x.ipynb")


def test_precommit_nbstripout_strips_colab_metadata(tmp_path):
    """Run nbstripout with the hook's own arguments on a notebook dirtied like Colab does."""
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"nbstripout", "ruff-check"} <= set(hooks)
    nb = json.loads(NOTEBOOKS[0].read_text())
    nb["metadata"].update(
        colab={"provenance": []},
        accelerator="GPU",
        gpuClass="standard",
        widgets={"application/vnd.jupyter.widget-state+json": {}},
    )
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell.update(
        execution_count=1, outputs=[{"output_type": "stream", "name": "stdout", "text": "x"}]
    )
    cell["metadata"].update(colab={"base_uri": "x"}, id="abc", outputId="def", executionInfo={})
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb))
    assert len(problems(json.loads(dirty.read_text()))) == 10
    nbstripout = Path(sys.executable).with_name("nbstripout")
    run = subprocess.run(
        [str(nbstripout), *hooks["nbstripout"]["args"], str(dirty)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert problems(json.loads(dirty.read_text())) == []
