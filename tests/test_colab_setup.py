"""Simulate Colab: a fake google.colab module, a local git URL, the set-up cell run twice."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNNER = r"""
import json, os, sys, types
if os.environ.get("FAKE_COLAB") == "1":
    sys.modules["google.colab"] = types.ModuleType("google.colab")
cell = open(sys.argv[1]).read()
for _ in range(2):  # the cell must be safe to run twice
    exec(compile(cell, "colab-setup", "exec"), {"__name__": "__main__"})
import helpers
print(json.dumps({"cwd": os.getcwd(), "helpers": helpers.__file__, "fast": helpers.FAST}))
"""

FAKE_PIP = r"""
import json, sys
with open(sys.argv[1], "a") as log:
    log.write(json.dumps(sys.argv[2:]) + "\n")
"""


def _stamper():
    spec = importlib.util.spec_from_file_location(
        "stamp_notebooks", ROOT / "tools" / "stamp_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _local_repo(path: Path) -> str:
    """Make a git repository holding helpers/ and pyproject.toml; return its file:// URL."""
    shutil.copytree(
        ROOT / "helpers", path / "helpers", ignore=shutil.ignore_patterns("__pycache__")
    )
    (path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_setup_check.ipynb", path / "notebooks")
    shutil.copy(ROOT / "pyproject.toml", path / "pyproject.toml")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", "-C", str(path)]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot"], check=True)
    return path.resolve().as_uri()


def _run_cell(tmp_path: Path, fake_colab: bool) -> tuple[dict, list, Path]:
    url = _local_repo(tmp_path / "origin")
    cell = tmp_path / "cell.py"
    cell.write_text(_stamper().colab_cell_source(url))
    (tmp_path / "fake_pip.py").write_text(FAKE_PIP)
    (tmp_path / "runner.py").write_text(RUNNER)
    log = tmp_path / "pip.log"
    target = tmp_path / "content" / "sd-workbook"
    env = dict(
        os.environ,
        FAKE_COLAB="1" if fake_colab else "0",
        WORKBOOK_COLAB_DIR=str(target),
        WORKBOOK_PIP=f"{sys.executable} {tmp_path / 'fake_pip.py'} {log}",
        WORKBOOK_FAST="1",
        PYTHONPATH=str(ROOT),  # where helpers lives outside Colab; the cell must put TARGET first
    )
    run = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(cell)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return json.loads(run.stdout.strip().splitlines()[-1]), calls, target


def test_colab_cell_clones_installs_once_and_imports(tmp_path):
    result, pip_calls, target = _run_cell(tmp_path, fake_colab=True)
    assert (target / ".git").is_dir() and (target / "helpers" / "loading.py").is_file()
    assert pip_calls == [["install", "-q", "-e", str(target)]]  # once, although run twice
    assert result["cwd"] == str(target / "notebooks")
    assert Path(result["helpers"]).resolve() == (target / "helpers" / "__init__.py").resolve()


def test_colab_cell_does_nothing_outside_colab(tmp_path):
    result, pip_calls, target = _run_cell(tmp_path, fake_colab=False)
    assert not target.exists() and pip_calls == []
    assert result["cwd"] == str(tmp_path)
    assert not Path(result["helpers"]).is_relative_to(tmp_path)


def test_colab_cell_never_touches_torch():
    source = _stamper().colab_cell_source("https://github.com/owner/repo")
    code = "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))
    assert '"install", "-q", "-e", TARGET' in code
    for word in ("torch", "-U", "--upgrade", "-c", "constraints", "--force-reinstall", "%pip", "!pip"):
        assert word not in code.replace(" -m pip", ""), word
    assert source.startswith("# colab-setup") and 'if "google.colab" in sys.modules:' in source
