"""Simulate Colab: a fake google.colab module, a local git URL, the set-up cell run twice.

A fake pip logs its arguments and can bump the version of a fake installed distribution
(``fakepkg``), which the runner may import first, as Colab's kernel has imported IPython: the
cell must then ask for a runtime restart, and only then.
"""

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
if os.environ.get("FAKE_IMPORT") == "1":
    import fakepkg  # imported before the cell runs, like IPython in Colab's kernel
cell = open(sys.argv[1]).read()
for _ in range(2):  # the cell must be safe to run twice
    exec(compile(cell, "colab-setup", "exec"), {"__name__": "__main__"})
import helpers
print(json.dumps({"cwd": os.getcwd(), "helpers": helpers.__file__, "fast": helpers.FAST}))
"""

FAKE_PIP = r"""
import json, os, sys
with open(sys.argv[1], "a") as log:
    log.write(json.dumps(sys.argv[2:]) + "\n")
if os.environ.get("FAKE_BUMP") == "1":  # 'upgrade' fakepkg 1.0 -> 2.0, as pip would on disk
    site = os.environ["FAKE_SITE"]
    old, new = os.path.join(site, "fakepkg-1.0.dist-info"), os.path.join(site, "fakepkg-2.0.dist-info")
    os.rename(old, new)
    with open(os.path.join(new, "METADATA"), "w") as meta:
        meta.write("Metadata-Version: 2.1\nName: fakepkg\nVersion: 2.0\n")
"""


def _fake_site(path: Path) -> Path:
    """Make a folder holding an installed distribution ``fakepkg`` 1.0; return the folder."""
    (path / "fakepkg").mkdir(parents=True)
    (path / "fakepkg" / "__init__.py").write_text("")
    info = path / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    (info / "top_level.txt").write_text("fakepkg\n")
    return path


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


def _run_cell(tmp_path: Path, fake_colab: bool, imported: bool = False,
              bump: bool = False) -> tuple[dict, list, Path, str]:
    url = _local_repo(tmp_path / "origin")
    site = _fake_site(tmp_path / "site")
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
        # where helpers lives outside Colab (the cell must put TARGET first), and fakepkg
        PYTHONPATH=os.pathsep.join([str(ROOT), str(site)]),
        FAKE_SITE=str(site),
        FAKE_IMPORT="1" if imported else "0",
        FAKE_BUMP="1" if bump else "0",
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
    lines = run.stdout.strip().splitlines()
    return json.loads(lines[-1]), calls, target, "\n".join(lines[:-1])


def _cell_functions() -> dict:
    """Return the names the set-up cell defines, run outside Colab (where it installs nothing)."""
    namespace = {"__name__": "colab_setup"}
    exec(_stamper().colab_cell_source("https://github.com/owner/repo"), namespace)
    return namespace


def test_changed_lists_only_distributions_whose_version_moved():
    changed = _cell_functions()["changed"]
    before = {"diffusers": "0.39.0", "ipython": "7.34.0", "numpy": "2.1.3"}
    assert changed(before, dict(before)) == []
    assert changed(before, {**before, "peft": "0.20.0"}) == []  # newly installed: not imported
    assert changed(before, {**before, "numpy": "2.2.0"}) == ["numpy 2.1.3 → 2.2.0"]
    assert changed(before, {"diffusers": "0.40.0", "ipython": "7.34.0"}) == [
        "diffusers 0.39.0 → 0.40.0",
        "numpy 2.1.3 → -",  # removed
    ]


def test_loaded_versions_reads_imported_distributions_only():
    import pytest

    versions = _cell_functions()["loaded_versions"]()
    assert versions["pytest"] == pytest.__version__
    assert "ruff" not in versions and "nbstripout" not in versions  # installed, never imported


def test_colab_cell_asks_for_a_restart_when_pip_changed_an_imported_package(tmp_path):
    result, pip_calls, target, printed = _run_cell(tmp_path, True, imported=True, bump=True)
    assert len(pip_calls) == 1
    assert "런타임 → 세션 다시 시작" in printed and "Restart" in printed
    assert "fakepkg 1.0 → 2.0" in printed
    assert printed.count("fakepkg") == 1  # said once: the second run installs nothing


def test_colab_cell_says_nothing_when_pip_changed_only_packages_not_imported(tmp_path):
    result, pip_calls, target, printed = _run_cell(tmp_path, True, imported=False, bump=True)
    assert len(pip_calls) == 1 and printed == ""


def test_colab_cell_clones_installs_once_and_imports(tmp_path):
    result, pip_calls, target, printed = _run_cell(tmp_path, fake_colab=True)
    assert (target / ".git").is_dir() and (target / "helpers" / "core" / "loading.py").is_file()
    assert pip_calls == [["install", "-q", "-e", str(target)]]  # once, although run twice
    assert result["cwd"] == str(target / "notebooks")
    assert Path(result["helpers"]).resolve() == (target / "helpers" / "__init__.py").resolve()
    assert printed == ""  # nothing imported changed: no restart advice


def test_colab_cell_does_nothing_outside_colab(tmp_path):
    result, pip_calls, target, printed = _run_cell(tmp_path, fake_colab=False)
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


def _twin():
    spec = importlib.util.spec_from_file_location("colab_twin", ROOT / "tools" / "colab_twin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_colab_twin_skips_with_a_reason_without_python_313(monkeypatch, capsys):
    twin = _twin()
    monkeypatch.setattr(twin, "find_python", lambda: None)
    monkeypatch.setattr(twin, "build", lambda *a: (_ for _ in ()).throw(AssertionError("built")))
    assert twin.main([]) == 0
    assert "skipped: no Python 3.13 here" in capsys.readouterr().out


def test_colab_twin_reports_what_pip_changed():
    twin = _twin()
    before = {"diffusers": "0.39.0", "torch": "2.11.0", "old": "1"}
    after = {"diffusers": "0.42.1", "torch": "2.11.0", "sd-workbook": "0.1.0"}
    assert twin.changes(before, after) == [
        "diffusers 0.39.0 → 0.42.1",
        "old 1 → (removed)",
        "sd-workbook (absent) → 0.1.0",
    ]
    pins = twin.read_pins()
    assert pins["torch"] == "2.11.0" and pins["huggingface-hub"] == "1.27.0"  # names normalised
    assert twin.twin_place([]) == twin.TWIN_DIR
    assert twin.twin_place(["diffusers==0.40.0"]).name == "with-diffusers-0.40.0"
