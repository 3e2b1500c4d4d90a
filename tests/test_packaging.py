"""pyproject.toml and environment.yml list the same packages; Makefile and .ci/run fail on exit 5.

Also: the version floors Colab needs, and constraints/colab.txt (Colab's versions for the twin).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

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
    extras = project["optional-dependencies"]
    assert sorted(extras) == ["dev", "instructor", "lab"]
    wanted = project["dependencies"] + extras["lab"] + extras["instructor"] + extras["dev"]
    assert sorted(wanted) == sorted(_environment_pip())  # same names and same version bounds
    assert {_name(r) for r in wanted} == {
        "jupyterlab",
        "jupyterlab-rise",
        "jupyterlab-language-pack-ko-kr",
        "nbgrader",
        "jupyter-repo2docker",
        "diffusers",
        "torch",
        "transformers",
        "ipython",
        "ipywidgets",
        "matplotlib",
        "accelerate",
        "safetensors",
        "invisible-watermark",
        "peft",
        "tabulate",
        "nbval",
        "pytest",
        "pytest-xdist",
        "ruff",
        "pre-commit",
        "nbstripout",
        "playwright",
    }


def test_version_floors_and_no_torch_pin():
    project = _pyproject()["project"]
    deps = {_name(r): r for r in project["dependencies"]}
    assert deps["diffusers"] == "diffusers>=0.40" and deps["transformers"] == "transformers>=5"
    assert deps["peft"] == "peft>=0.18"  # transformers 5 needs it
    assert deps["ipython"] == "ipython>=7.34" and deps["ipywidgets"] == "ipywidgets>=7.7"  # Colab's
    assert deps["torch"] == "torch"  # unpinned: Colab keeps its CUDA torch
    assert "jupyterlab" not in deps  # Colab has its own front end; `make lab` installs the extra
    assert project["requires-python"] == ">=3.11"
    assert (ROOT / "constraints" / "cpu.txt").read_text().split() == ["torch==2.13.0"]
    makefile = (ROOT / "Makefile").read_text()
    assert "-c $(CONSTRAINTS)" in makefile and "CONSTRAINTS := constraints/cpu.txt" in makefile


def test_makefile_installs_jupyterlab_for_lab_and_test():
    makefile = (ROOT / "Makefile").read_text()
    assert '$(PIP) -e ".[lab]"' in makefile and '$(PIP) -e ".[lab,instructor,dev]"' in makefile
    assert "\ncolab-twin:\n\t$(PYTHON) tools/colab_twin.py\n" in makefile


def _colab_pins() -> dict[str, str]:
    lines = (ROOT / "constraints" / "colab.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_colab_pins_name_their_source_and_hold_colabs_versions():
    text = (ROOT / "constraints" / "colab.txt").read_text()
    assert "googlecolab/backend-info" in text and "a724079" in text and "2026-08-19" in text
    assert "../shared" not in text  # the repository stands on its own
    pins = _colab_pins()
    expected = {"torch": "2.11.0", "transformers": "5.15.0", "diffusers": "0.39.0",
                "peft": "0.20.0", "accelerate": "1.14.0", "huggingface-hub": "1.27.0",
                "ipywidgets": "7.7.1", "ipython": "7.34.0", "numpy": "2.1.3",
                "opencv-python": "5.0.0.93", "pip": "24.1.2"}
    assert {name: pins.get(name) for name in expected} == expected
    assert not [name for name in pins if name.startswith(("nvidia-", "cuda-", "triton"))]


def test_colab_pins_meet_the_workbooks_floors_except_diffusers():
    """Colab's own versions satisfy every floor but diffusers, which pip upgrades (0.39 -> 0.40)."""
    from packaging.requirements import Requirement

    pins = _colab_pins()
    below = sorted(
        req.name
        for req in map(Requirement, _pyproject()["project"]["dependencies"])
        if req.name in pins and not req.specifier.contains(pins[req.name])
    )
    assert below == ["diffusers"]


def test_environment_report_checks_pyprojects_floors():
    """00's [OK]/[FAIL] table asks for what pyproject.toml asks for, and no JupyterLab (not on Colab)."""
    from packaging.requirements import Requirement

    from helpers.core import environment_check

    project = _pyproject()["project"]
    floors = {}
    for req in map(Requirement, project["dependencies"]):
        lowest = [spec.version for spec in req.specifier if spec.operator == ">="]
        floors[req.name] = lowest[0] if lowest else None
    assert {name: floors[name] for name in environment_check.REQUIRED_PACKAGES} == environment_check.REQUIRED_PACKAGES
    assert "jupyterlab" not in environment_check.REQUIRED_PACKAGES
    assert project["requires-python"] == ">=" + ".".join(map(str, environment_check.MIN_PYTHON))


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
