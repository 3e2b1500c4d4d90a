"""The repo2docker layout (binder/): what Binder, or a JupyterHub image built with it, would build.

repo2docker runs without building (``--no-build --debug``: it prints the Dockerfile it would use,
no Docker needed; ``make binder-check`` does the same), and the Dockerfile must build Python 3.11,
run binder/postBuild, and nothing from the root environment.yml (dev tools and a CUDA torch).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPO2DOCKER = Path(sys.executable).parent / "jupyter-repo2docker"


@pytest.fixture(scope="module")
def dockerfile() -> str:
    if not REPO2DOCKER.exists():
        pytest.skip("jupyter-repo2docker is not installed (pip install -e '.[dev]')")
    run = subprocess.run([str(REPO2DOCKER), "--no-build", "--debug", "--user-id", "1000",
                          "--user-name", "jovyan", str(ROOT)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return run.stdout + run.stderr


def test_repo2docker_builds_python_311_and_runs_post_build(dockerfile):
    assert "python=3.11" in dockerfile
    assert "RUN ./binder/postBuild" in dockerfile
    assert "environment.yml" not in dockerfile  # binder/ wins over the root's dev environment


def test_post_build_installs_cpu_torch_the_workbook_and_korean_menus():
    script = (ROOT / "binder" / "postBuild").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / "binder" / "postBuild")]).returncode == 0
    lines = [line for line in script.splitlines() if line.strip() and not line.startswith("#")]
    assert any("--index-url https://download.pytorch.org/whl/cpu -r constraints/cpu.txt" in line
               for line in lines)
    assert (ROOT / "constraints" / "cpu.txt").read_text().startswith("torch==")
    assert any('-c constraints/cpu.txt -e ".[lab]"' in line for line in lines)
    assert any("jupyterlab-settings/overrides.json" in line and "share/jupyter/lab/settings" in line
               for line in lines)
    assert (ROOT / "jupyterlab-settings" / "overrides.json").exists()
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111  # executable


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_make_binder_check_is_the_same_dry_run():
    makefile = (ROOT / "Makefile").read_text()
    assert "binder-check:" in makefile and "jupyter-repo2docker --no-build --debug" in makefile
