#!/usr/bin/env python3
"""Build and run the Colab twin: Colab's package versions on Python 3.13, then the workbook's tests.

    python tools/colab_twin.py                  # build (or reuse) the twin, then run every check
    python tools/colab_twin.py --build-only     # only build it and report what pip changed
    python tools/colab_twin.py --only unit      # only one phase (unit, notebooks, real-backend)
    python tools/colab_twin.py pins FREEZE      # rewrite constraints/colab.txt from a Colab pip freeze

``make colab-twin`` calls the first form. The steps, each announced by a progress line:

1. find Python 3.13 (``COLAB_TWIN_PYTHON``, else pyenv's newest 3.13, else ``python3.13``); without
   it the twin is skipped with a message and exit status 0;
2. a venv in ``.cache/colab-twin/venv`` (git-ignored; ``COLAB_TWIN_DIR`` moves it) with Colab's
   pip and then Colab's versions of the packages that matter (constraints/colab.txt), as if
   Colab had them preinstalled; their wheels are kept in ``.cache/colab-twin/wheels`` so a
   rebuild downloads nothing twice;
3. the workbook installed exactly as the notebooks' Colab set-up cell does: the stamped cell
   itself runs in the twin's Python with a stand-in ``google.colab`` module, so its plain
   ``pip install -e`` of this checkout and its restart advice are what a student gets. What pip
   changed is written to ``.cache/colab-twin/pip-changes.txt``; the twin fails if torch changed;
4. the test tools (nbval, ...) installed without changing anything installed before;
5. the unit tests, every notebook in fast mode (nbval-lax) and the real-backend tests
   (tests/test_notebook_*_real.py), offline, each with its wall time.

A second run reuses the venv when its package set is the one the last build left (same
constraints/colab.txt, pyproject.toml's requirements and ``pip freeze``) and goes straight to step 5
(adding any missing test tool).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PINS = REPO_ROOT / "constraints" / "colab.txt"
TWIN_DIR = Path(os.environ.get("COLAB_TWIN_DIR") or REPO_ROOT / ".cache" / "colab-twin")
#: Colab's kernel stack and the packages it preinstalls that the workbook's tests rely on.
KERNEL_ROOTS = ("pip", "setuptools", "ipykernel", "ipython", "ipywidgets", "nbformat", "nbclient",
                "pytest", "pyyaml")
#: Left out of the pins: torch's CUDA runtime (PyPI's torch wheel brings its own, matching one).
CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")
#: Installed after the workbook for the tests only (nbstripout: tests/test_notebooks_clean.py runs the
#: pre-commit hook); never allowed to change what is there.
TEST_TOOLS = ("nbval", "nbstripout")
#: Colab packages the workbook's install must leave alone (torch changing fails the twin).
MUST_KEEP = ("torch", "numpy", "ipython", "ipywidgets")
PHASES = (
    ("unit tests", ["tests", "--ignore-glob=tests/test_notebook_*_real.py"]),
    ("notebooks (fast mode)", ["notebooks", "--nbval-lax"]),
    ("real-backend tests", sorted(str(p.relative_to(REPO_ROOT))
                                  for p in (REPO_ROOT / "tests").glob("test_notebook_*_real.py"))),
)


def say(message: str) -> None:
    """Print one progress line (flushed at once)."""
    print(f"colab twin: {message}", flush=True)


def normalise(name: str) -> str:
    """Return a distribution name in PEP 503 normal form (lower case, runs of -_. as -)."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = PINS) -> dict[str, str]:
    """Return {normalised name: version} from a file of ``name==version`` lines."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalise(name)] = version.strip()
    return pins


def find_python() -> str | None:
    """Return the path of a working Python 3.13, or None if this machine has none."""
    candidates = [os.environ.get("COLAB_TWIN_PYTHON", "")]
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    except OSError:
        root = ""
    if root:
        found = glob.glob(os.path.join(root, "versions", "3.13*", "bin", "python3.13"))
        candidates += sorted(found, key=lambda p: [int(x) for x in Path(p).parts[-3].split(".")
                                                   if x.isdigit()], reverse=True)
    candidates.append(shutil.which("python3.13") or "")
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if check.returncode == 0 and check.stdout.strip() == "(3, 13)":
            return candidate
    return None


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Return the finished ``command``; raise SystemExit with its output's tail if it failed."""
    done = subprocess.run(command, text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise SystemExit(f"colab twin: this command failed ({done.returncode}); its output ends:\n"
                         f"{tail}\n  {' '.join(command)}")
    return done


def freeze(python: Path) -> dict[str, str]:
    """Return {normalised name: version} of every distribution installed in ``python``'s env."""
    listing = run([str(python), "-m", "pip", "list", "--format=json"]).stdout
    return {normalise(d["name"]): d["version"] for d in json.loads(listing)}


def changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Return one line per distribution pip added, removed or changed, e.g. 'diffusers 0.39.0 → 0.40.0'."""
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            lines.append(f"{name} {old or '(absent)'} → {new or '(removed)'}")
    return lines


def inputs_digest(extra: list[str]) -> str:
    """Return a hash of what decides the twin's package set: the pins and the workbook's requirements.

    Only pyproject.toml's requirements count (requires-python, dependencies, optional dependencies),
    so moving modules or changing tool settings there reuses the twin; the test tools are installed
    on every run when missing (``add_test_tools``).
    """
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    needs = {key: project.get(key) for key in ("requires-python", "dependencies", "optional-dependencies")}
    digest = hashlib.sha256(PINS.read_bytes())
    digest.update(json.dumps(needs, sort_keys=True).encode())
    digest.update(" ".join(extra).encode())
    return digest.hexdigest()


def add_test_tools(python: Path, place: Path) -> dict[str, str]:
    """Install the TEST_TOOLS missing from the twin without changing any installed package; return the freeze."""
    before = freeze(python)
    missing = [tool for tool in TEST_TOOLS if normalise(tool) not in before]
    if not missing:
        return before
    say(f"test tools ({', '.join(missing)}) without changing any installed package")
    keep = place / "keep.txt"
    keep.write_text("".join(f"{name}=={version}\n" for name, version in before.items()
                            if name != "sd-workbook"))
    run([str(python), "-m", "pip", "install", "-q", "-c", str(keep), *missing])
    after = freeze(python)
    if any("(absent)" not in line for line in changes(before, after)):
        raise SystemExit("colab twin: installing the test tools changed installed packages: "
                         + "; ".join(changes(before, after)))
    return after


def install_colab_packages(python: Path, wheels: Path, extra: list[str], place: Path) -> None:
    """Install Colab's pip, then Colab's pinned versions (``extra`` replacing some) from local wheels."""
    pins = read_pins()
    for requirement in extra:
        pins[normalise(requirement.split("==")[0])] = requirement.split("==")[1]
    run([str(python), "-m", "pip", "install", "-q", f"pip=={pins['pip']}"])
    wheels.mkdir(parents=True, exist_ok=True)
    say(f"downloading Colab's {len(pins)} pinned packages ({' '.join(extra) or 'as pinned'}) and "
        f"their needs into {wheels} (several GB the first time: torch with its CUDA libraries)")
    preinstalled = place / "preinstalled.txt"
    preinstalled.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    wanted = ["-r", str(preinstalled)]
    run([str(python), "-m", "pip", "download", "-q", "-d", str(wheels), *wanted])
    say("installing them")
    run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels),
         *wanted])


SETUP_RUNNER = r"""
import sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")  # what the cell looks for
import IPython  # Colab's kernel has IPython loaded before any cell runs
exec(compile(open(sys.argv[1]).read(), "colab-setup", "exec"), {"__name__": "__main__"})
"""


def install_like_colab(python: Path, place: Path) -> str:
    """Run the stamped Colab set-up cell in the twin against this checkout; return what it printed."""
    stamp = REPO_ROOT / ".colab-installed"
    stamp.unlink(missing_ok=True)  # the cell installs only once per checkout
    cell = place / "colab_setup_cell.py"
    # The twin's Python has nbformat (Colab's), which tools/stamp_notebooks.py imports.
    run([str(python), "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from stamp_notebooks import colab_cell_source; "
         "open(sys.argv[2], 'w').write(colab_cell_source('https://github.com/owner/unused'))",
         str(REPO_ROOT / "tools"), str(cell)])
    runner = place / "run_setup_cell.py"
    runner.write_text(SETUP_RUNNER)
    env = dict(os.environ, WORKBOOK_COLAB_DIR=str(REPO_ROOT))  # has .git: the cell clones nothing
    env.pop("WORKBOOK_PIP", None)
    try:
        done = run([str(python), str(runner), str(cell)], env=env, cwd=place)
    finally:
        stamp.unlink(missing_ok=True)
    return (done.stdout + done.stderr).strip()


def twin_place(extra: list[str]) -> Path:
    """Return the folder of the twin with ``extra`` preinstalled (TWIN_DIR itself when none)."""
    if not extra:
        return TWIN_DIR
    return TWIN_DIR / ("with-" + "-".join(e.replace("==", "-") for e in extra))


def build(python313: str, extra: list[str]) -> Path:
    """Return the twin's python, building the venv first unless its package set is already right."""
    place = twin_place(extra)
    place.mkdir(parents=True, exist_ok=True)
    venv = place / "venv"
    python = venv / "bin" / "python"
    record = place / "build.json"
    if python.exists() and record.exists():
        saved = json.loads(record.read_text())
        if saved.get("inputs") == inputs_digest(extra) and saved.get("freeze") == freeze(python):
            say(f"reusing {venv}: its package set matches the last build "
                f"(built in {saved['seconds']:.0f} s; pip changes in {place / 'pip-changes.txt'})")
            record.write_text(json.dumps({**saved, "freeze": add_test_tools(python, place)}, indent=1))
            return python
        say(f"{venv} no longer matches constraints/colab.txt and pyproject.toml: rebuilding it")
        shutil.rmtree(venv)
    started = time.monotonic()
    say(f"step 1/4: a venv on {python313} in {venv}")
    if python.exists():
        shutil.rmtree(venv)  # a build that stopped half-way: start again (the wheels are kept)
    run([python313, "-m", "venv", str(venv)])
    say("step 2/4: Colab's versions (constraints/colab.txt), as if preinstalled")
    install_colab_packages(python, TWIN_DIR / "wheels", extra, place)
    colab = freeze(python)
    say("step 3/4: the workbook, installed by the notebooks' Colab set-up cell (pip install -e)")
    printed = install_like_colab(python, place)
    printed = "\n".join(x for x in printed.splitlines()  # this machine's pip settings, not Colab's
                        if not x.startswith("WARNING: Location 'file://"))
    workbook = freeze(python)
    changed = changes(colab, workbook)
    (place / "pip-changes.txt").write_text(
        "What `pip install -e` of the workbook changed in the Colab twin:\n"
        + "".join(f"  {line}\n" for line in changed)
        + "The set-up cell printed:\n" + "".join(f"  {x}\n" for x in printed.splitlines()))
    say("what pip changed: " + ("; ".join(c for c in changed if "(absent)" not in c) or "nothing")
        + f" (+{sum('(absent)' in c for c in changed)} new)")
    if printed:
        say(f"the set-up cell printed: {printed}")
    touched = [name for name in MUST_KEEP if colab.get(name) != workbook.get(name)]
    if "torch" in touched:
        raise SystemExit(f"colab twin: installing the workbook changed Colab's torch "
                         f"({colab.get('torch')} → {workbook.get('torch')}); loosen the workbook's "
                         "requirements so pip keeps Colab's torch.")
    if touched:
        say(f"WARNING: the install changed Colab's {', '.join(touched)}")
    say("step 4/4: the test tools")
    after = add_test_tools(python, place)
    seconds = time.monotonic() - started
    record.write_text(json.dumps({"inputs": inputs_digest(extra), "freeze": after, "seconds": seconds,
                                  "python": python313}, indent=1))
    say(f"built in {seconds:.0f} s")
    return python


def test(python: Path, only: list[str] | None = None) -> int:
    """Run the unit tests, the notebooks and the real-backend tests (or the ``only`` ones); return 0 if all pass."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", WORKBOOK_FAST="1", WORKBOOK_CACHE="off",
               WORKBOOK_BROWSER_TEST="0", PATH=f"{python.parent}:{os.environ['PATH']}",
               PYDEVD_DISABLE_FILE_VALIDATION="1")  # ipykernel 6's debugger on Python 3.13
    failed = []
    for name, args in PHASES:
        if only and name.split()[0] not in only:
            continue
        say(f"running the {name}")
        started = time.monotonic()
        done = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--durations=5", "-rs", *args], cwd=REPO_ROOT, env=env)
        verdict = "passed" if done.returncode == 0 else f"FAILED (pytest exit {done.returncode})"
        say(f"{name}: {verdict} in {time.monotonic() - started:.0f} s")
        if done.returncode != 0:
            failed.append(name)
    say("all passed" if not failed else f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def write_pins(freeze_file: Path, python: str) -> None:
    """Rewrite constraints/colab.txt: the Colab versions of what the workbook and its kernel need.

    "What they need" is the dependency closure of the workbook's requirements and KERNEL_ROOTS, read
    from the distributions installed in ``python``'s environment (run it in the twin for Colab's
    exact closure), for Python 3.13 on Linux, without torch's CUDA runtime.
    """
    import tomllib

    requirements = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    walker = r"""
import json, re, sys
from importlib import metadata
from packaging.requirements import Requirement
env = {"python_version": "3.13", "python_full_version": "3.13.15", "sys_platform": "linux",
       "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
       "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
todo, seen = [norm(Requirement(r).name) for r in json.loads(sys.argv[1])], set()
while todo:
    name = todo.pop()
    if name in seen:
        continue
    seen.add(name)
    try:
        requires = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        continue
    for line in requires:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            todo.append(norm(req.name))
print(json.dumps(sorted(seen)))
"""
    roots = [r for r in requirements if not r.startswith("jupyterlab")] + list(KERNEL_ROOTS)
    closure = set(json.loads(run([python, "-c", walker, json.dumps(roots)]).stdout))
    colab = {}
    for line in freeze_file.read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            colab[normalise(name)] = version.split("+", 1)[0]  # torch 2.11.0+cu128 is 2.11.0 on PyPI
    chosen = sorted(n for n in closure & set(colab) if not n.startswith(CUDA_PREFIXES))
    header = f"""\
# Google Colab's GPU runtime: its versions of the packages the workbook and its kernel need.
# Source: googlecolab/backend-info, pip-freeze.gpu.txt at commit a724079 (2026-08-19,
# "Upgrade to Python 3.13"): Python 3.13.15, Ubuntu 22.04. Re-check it when Colab moves on.
# Generated by `python tools/colab_twin.py pins <pip-freeze.gpu.txt>`: the dependency closure of
# pyproject.toml's dependencies (jupyterlab aside: Colab has its own front end) and of Colab's
# kernel stack and test runner, for Python 3.13 on Linux, with Colab's version of each:
#   {" ".join(KERNEL_ROOTS)}
# Local versions are dropped (torch 2.11.0+cu128 is torch 2.11.0 on PyPI) and so is torch's
# CUDA runtime (nvidia-*, cuda-*, triton), which PyPI's torch brings itself.
# Used by tools/colab_twin.py (make colab-twin) as the twin's preinstalled packages; never by the
# workbook's own install.
"""
    PINS.write_text(header + "".join(f"{name}=={colab[name]}\n" for name in chosen))
    say(f"wrote {len(chosen)} pins to {PINS.relative_to(REPO_ROOT)}")


def main(argv: list[str] | None = None) -> int:
    """Build and test the twin (or rewrite the pins); return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-only", action="store_true", help="build the twin, run no tests")
    parser.add_argument("--only", action="append", choices=[p[0].split()[0] for p in PHASES],
                        help="run only this phase (unit, notebooks, real-backend); may be repeated")
    parser.add_argument("--with", dest="extra", action="append", default=[], metavar="REQ",
                        help="also preinstall REQ (e.g. diffusers==0.40.0, the workbook's floor) "
                             "in a second twin beside the first")
    sub = parser.add_subparsers(dest="command")
    pins = sub.add_parser("pins", help="rewrite constraints/colab.txt from a Colab pip freeze")
    pins.add_argument("freeze", type=Path, help="Colab's pip-freeze.gpu.txt")
    pins.add_argument("--python", default=sys.executable,
                      help="the Python whose installed packages give the dependency closure")
    args = parser.parse_args(argv)
    if args.command == "pins":
        write_pins(args.freeze, args.python)
        return 0
    python313 = find_python()
    if python313 is None:
        say("skipped: no Python 3.13 here (install it, e.g. `pyenv install 3.13`, or point "
            "COLAB_TWIN_PYTHON at one)")
        return 0
    started = time.monotonic()
    python = build(python313, args.extra)
    if args.build_only:
        return 0
    status = test(python, args.only)
    say(f"done in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
