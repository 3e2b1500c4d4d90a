"""tools/run_notebooks.py: handouts (build) with a progress line per notebook, and warm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def notebook(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, str(ROOT / "tools" / "run_notebooks.py"), *args],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_build_writes_executed_notebooks_html_and_progress_lines(tmp_path):
    good = notebook(tmp_path / "a_good.ipynb",
                    "import os\nprint('mode', os.environ['WORKBOOK_FAST'], os.environ['WORKBOOK_CACHE'])",
                    "from PIL import Image\nImage.new('RGB', (8, 8), 'red')")
    bad = notebook(tmp_path / "b_bad.ipynb", "print('before')", "1 / 0", "print('never')")
    out = tmp_path / "build"
    result = run("build", "--fast", str(good), str(bad), "--out", str(out))
    assert result.returncode == 1, result.stderr  # one notebook failed
    lines = result.stdout.splitlines()
    assert any(line.startswith("[1/2] a_good: ok in ") and ", torch threads: " in line
               and "of the CPU" in line for line in lines)
    assert any(line.startswith("[2/2] b_bad: FAILED: ") and "ZeroDivisionError" in line for line in lines)
    assert lines[-1].startswith("build: 1/2 notebooks ok in ") and lines[-1].endswith("failed: b_bad")
    executed = nbformat.read(out / "a_good.ipynb", 4)
    assert len(executed.cells) == 3  # the threads probe is not in the handout
    assert executed.cells[1].outputs[0]["text"] == "mode 1 off\n"  # fast mode, cache off
    assert "image/png" in executed.cells[2].outputs[0]["data"]
    html = (out / "a_good.html").read_text()
    assert "mode 1 off" in html and "data:image/png;base64" in html
    partial = nbformat.read(out / "b_bad.ipynb", 4)
    assert partial.cells[1].outputs[0]["text"] == "before\n" and not partial.cells[3].outputs
    index = (out / "index.html").read_text()
    assert 'href="a_good.html"' in index and "FAILED" in index


def test_warm_needs_the_cache_on(tmp_path):
    good = notebook(tmp_path / "a.ipynb", "import os\nassert os.environ.get('WORKBOOK_CACHE') != 'off'")
    result = run("warm", "--fast", str(good), env={"WORKBOOK_CACHE": "off"})
    assert result.returncode == 2 and "cache is off" in result.stderr
    result = run("warm", "--fast", str(good), env={"WORKBOOK_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"warming the generation cache in {tmp_path / 'cache'}" in result.stdout
    assert "[1/1] a: ok in " in result.stdout


def test_unknown_notebook_names_say_which_exist():
    result = run("build", "99_nothing")
    assert result.returncode != 0 and "00_setup_check" in result.stderr


def test_execute_adds_environment_and_cells_without_changing_the_notebook(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import execute

    path = notebook(tmp_path / "a.ipynb", "import os\nvalue = os.environ['WORKBOOK_EXTRA']")
    before = path.read_text()
    nb, error = execute(path, fast=True, cache=False, timeout=60, env={"WORKBOOK_EXTRA": "42"},
                        append=["print('appended', value)"])
    assert error is None and path.read_text() == before
    assert nb.cells[-1].outputs[0]["text"] == "appended 42\n"


def test_record_keeps_threads_and_how_quiet_the_machine_was(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import run_notebooks

    monkeypatch.setattr(run_notebooks, "TIMINGS", tmp_path / "timings.json")
    rows = [{"name": "a", "seconds": 12.4, "error": None, "torch_threads": 2, "others_share": 0.012},
            {"name": "b", "seconds": 99.0, "error": None, "torch_threads": 1, "others_share": 0.4},
            {"name": "c", "seconds": 5.0, "error": "boom", "torch_threads": 2, "others_share": 0.0}]
    run_notebooks.record(rows, fast=False)
    import json

    data = json.loads((tmp_path / "timings.json").read_text())
    assert set(data) == {"a", "b"}  # a failed run is not a time
    assert data["a"]["cpu_full_s"] == 12 and data["a"]["cpu_full_torch_threads"] == 2
    assert data["a"]["cpu_full_others_share"] == 0.012
    assert "torch threads: 2" in data["a"]["cpu_full_measured"]
    assert "(quiet)" in data["a"]["cpu_full_measured"]
    assert "not quiet: an upper bound" in data["b"]["cpu_full_measured"]


def test_the_threads_probe_is_read_and_removed():
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import THREADS_PROBE, torch_threads

    nb = nbformat.v4.new_notebook()
    probe = nbformat.v4.new_code_cell(THREADS_PROBE)
    probe.outputs = [nbformat.v4.new_output("stream", name="stdout", text="torch threads: 2\n")]
    nb.cells = [nbformat.v4.new_code_cell("1"), probe]
    assert torch_threads(nb) == 2 and len(nb.cells) == 1
    assert torch_threads(nb) is None and len(nb.cells) == 1  # no probe: nothing removed


def test_the_kernel_probe_reports_peak_memory_and_cpu_time_and_is_removed():
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import KERNEL_PROBE, kernel_usage

    nb = nbformat.v4.new_notebook()
    probe = nbformat.v4.new_code_cell(KERNEL_PROBE)
    probe.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                            text="kernel peak KiB: 1048576 cpu ms: 12345\n")]
    nb.cells = [nbformat.v4.new_code_cell("1"), probe]
    assert kernel_usage(nb) == {"peak_mib": 1024, "cpu_s": 12.3} and len(nb.cells) == 1
    assert kernel_usage(nb) is None and len(nb.cells) == 1  # no probe: nothing removed


def test_the_kernel_probe_measures_a_real_kernel(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    from run_notebooks import KERNEL_PROBE, execute, kernel_usage

    path = tmp_path / "big.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("block = bytearray(300 * 2**20)\nblock[::4096] = b'x' * len(block[::4096])")]
    nbformat.write(nb, path)
    ran, error = execute(path, fast=True, cache=False, timeout=120, append=[KERNEL_PROBE])
    usage = kernel_usage(ran)
    assert error is None and usage is not None
    assert usage["peak_mib"] >= 300 and usage["cpu_s"] > 0  # the 300 MiB block was touched


def test_record_keeps_a_quiet_wall_time_but_takes_memory_from_a_busy_run(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import json

    import run_notebooks

    monkeypatch.setattr(run_notebooks, "TIMINGS", tmp_path / "timings.json")
    quiet = {"name": "a", "seconds": 50.0, "error": None, "torch_threads": 2, "others_share": 0.01}
    run_notebooks.record([quiet], fast=False)
    busy = {**quiet, "seconds": 80.0, "others_share": 0.6, "kernel": {"peak_mib": 900, "cpu_s": 70.5}}
    run_notebooks.record([busy], fast=False)
    entry = json.loads((tmp_path / "timings.json").read_text())["a"]
    assert entry["cpu_full_s"] == 50 and entry["cpu_full_others_share"] == 0.01
    assert entry["kernel_full_peak_mib"] == 900 and entry["kernel_full_cpu_s"] == 70.5
    assert "not quiet" in entry["kernel_full_measured"] and entry["kernel_full_others_share"] == 0.6
    quiet_kernel = {**quiet, "kernel": {"peak_mib": 850, "cpu_s": 40.0}}
    run_notebooks.record([quiet_kernel], fast=False)  # a quiet kernel replaces a busy one ...
    run_notebooks.record([busy], fast=False)  # ... and a busy one does not replace it
    entry = json.loads((tmp_path / "timings.json").read_text())["a"]
    assert entry["kernel_full_cpu_s"] == 40.0 and entry["kernel_full_peak_mib"] == 850
    assert entry["cpu_full_s"] == 50


def test_record_kernel_only_keeps_every_wall_time(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import json

    import run_notebooks

    monkeypatch.setattr(run_notebooks, "TIMINGS", tmp_path / "timings.json")
    busy = {"name": "a", "seconds": 80.0, "error": None, "torch_threads": 2, "others_share": 0.3}
    run_notebooks.record([busy], fast=False)  # no wall time yet: a busy one is better than none
    quiet = {**busy, "seconds": 50.0, "others_share": 0.01, "kernel": {"peak_mib": 700, "cpu_s": 9.0}}
    run_notebooks.record([quiet], fast=False, walls=False)
    entry = json.loads((tmp_path / "timings.json").read_text())["a"]
    assert entry["cpu_full_s"] == 80 and entry["cpu_full_others_share"] == 0.3
    assert entry["kernel_full_peak_mib"] == 700 and "quiet" in entry["kernel_full_measured"]
    run_notebooks.record([quiet], fast=False)  # a quiet one replaces a busy one
    assert json.loads((tmp_path / "timings.json").read_text())["a"]["cpu_full_s"] == 50
