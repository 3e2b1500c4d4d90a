"""pyproject.toml and environment.yml list the same packages; Makefile and .ci/run fail on exit 5."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _environment_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps and "pip" in deps
    pip = [d for d in deps if isinstance(d, dict)]
    assert len(pip) == 1
    return pip[0]["pip"]


def test_pyproject_and_environment_list_the_same_packages():
    project = _pyproject()["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    assert sorted(wanted) == sorted(_environment_pip())  # same names and same version bounds
    assert {_name(r) for r in wanted} == {
        "jupyterlab",
        "diffusers",
        "torch",
        "transformers",
        "ipywidgets",
        "matplotlib",
        "accelerate",
        "safetensors",
        "invisible-watermark",
        "peft",
        "nbval",
        "pytest",
        "ruff",
        "pre-commit",
        "nbstripout",
        "playwright",
    }


def test_version_floors_and_no_torch_pin():
    deps = {_name(r): r for r in _pyproject()["project"]["dependencies"]}
    assert deps["diffusers"] == "diffusers>=0.40" and deps["transformers"] == "transformers>=5"
    assert deps["torch"] == "torch"  # unpinned: Colab keeps its CUDA torch
    assert (ROOT / "constraints" / "cpu.txt").read_text().split() == ["torch==2.13.0"]
    makefile = (ROOT / "Makefile").read_text()
    assert "-c $(CONSTRAINTS)" in makefile and "CONSTRAINTS := constraints/cpu.txt" in makefile


def test_makefile_fails_when_pytest_collects_nothing(tmp_path):
    """`make pytest` (what `make test` runs after installing) must fail on pytest's exit 5."""
    fake = tmp_path / "fake_pytest"
    fake.write_text("#!/bin/sh\nexit 5\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    run = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "pytest", f"PYTEST={fake}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "collected no tests (exit 5)" in run.stderr


def test_ci_run_fails_on_exit_5(tmp_path):
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    for code, expect in ((5, 1), (0, 0), (2, 2)):
        fake_make = tmp_path / "make"
        fake_make.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\nexit {code}\n')
        fake_make.chmod(0o755)
        env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}")
        run = subprocess.run([str(ci)], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == expect, (code, run.stderr)
        assert (tmp_path / "args").read_text().split() == ["test"]


def test_make_test_runs_offline_fast_unit_tests_and_notebooks():
    makefile = (ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if "$(PYTEST)" in x and "nbval" in x)
    for part in (
        "HF_HUB_OFFLINE=1",
        "WORKBOOK_FAST=1",
        "tests notebooks",
        "--nbval-lax",
        "--durations=",
    ):
        assert part in line
    assert sys.version_info >= (3, 10)
