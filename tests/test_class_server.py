"""The class server's sizing (tools/class_server.py): measured per-notebook kernels, limits by rule."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import class_server  # noqa: E402

NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_has_a_measured_kernel_in_full_mode():
    timings = json.loads((ROOT / "tools" / "timings.json").read_text())
    for stem in NOTEBOOKS:
        entry = timings.get(stem, {})
        assert entry.get("kernel_full_peak_mib", 0) > 100, (
            f"{stem}: no kernel measurement; run python tools/run_notebooks.py build --record {stem}")
        assert entry.get("kernel_full_cpu_s", 0) > 0 and "torch threads" in entry["kernel_full_measured"]
    server = json.loads((ROOT / "tools" / "class_server.json").read_text())
    assert server["rss_mib"] > 20 and server["measured"]


def test_the_readme_block_is_in_step_with_the_measurements():
    assert class_server.main(["--check"]) == 0, "run python tools/class_server.py"
    text = (ROOT / "README.md").read_text()
    block = text.split(class_server.START)[1].split(class_server.END)[0]
    assert all(f"| {stem} |" in block for stem in NOTEBOOKS)
    assert "tljh-config set limits.memory" in block and "singleuser:" in block
    from helpers.core.config import REPO_BRANCH, REPO_URL

    owner_repo = REPO_URL.removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{owner_repo}/{REPO_BRANCH}?urlpath=lab/tree/notebooks" in block


def test_the_limits_follow_the_stated_rules():
    timings = {"a": {"kernel_full_peak_mib": 1000, "kernel_full_cpu_s": 100.0},
               "b": {"kernel_full_peak_mib": 1800, "kernel_full_cpu_s": 301.0}}
    got = class_server.limits(timings, server_mib=150)
    assert got["peak_stem"] == "b" and got["cpu_stem"] == "b"
    assert got["memory_gib"] == 2.5  # (1800 + 150) * 1.25 = 2438 MiB = 2.38 GiB -> 2.5 GiB
    assert got["cpu_guarantee"] == 1.25  # 301 s / 300 s = 1.003 -> 1.25 cores
    assert class_server.limits({"a": {"kernel_full_peak_mib": 100, "kernel_full_cpu_s": 1.0}},
                               server_mib=10)["cpu_guarantee"] == 0.25


def test_a_class_is_counted_in_memory_cores_and_servers():
    got = {"memory_gib": 2.0, "cpu_guarantee": 0.75}
    assert class_server.class_size(got, 30) == {"memory_gib": 62.0, "cores": 23.5, "servers": 2}
    assert class_server.class_size(got, 10)["servers"] == 1  # 22 GiB, 8.5 cores
    assert class_server.class_size({"memory_gib": 1.0, "cpu_guarantee": 1.0}, 40)["servers"] == 3  # 41 cores


def test_the_conditions_sentence_names_the_setup_and_the_range_of_load():
    measured = ["2026-12-03, 2-core x86_64 CPU, torch threads: 2, other processes used 0.4% of the CPU (quiet)",
                "2026-12-03, 2-core x86_64 CPU, torch threads: 2, other processes used 33.3% of the CPU "
                "(not quiet: an upper bound)"]
    assert class_server.conditions(measured) == (
        "2026-12-03, 2-core x86_64 CPU, torch threads: 2; other processes used 0.4–33.3% of the CPU meanwhile")


def test_the_hub_recipes_parse_and_carry_the_computed_limits(tmp_path):
    import subprocess

    import yaml

    timings = json.loads((ROOT / "tools" / "timings.json").read_text())
    server = json.loads((ROOT / "tools" / "class_server.json").read_text())
    got = class_server.limits(timings, server["rss_mib"])
    block = class_server.block(timings, server)
    script = block.split("```bash\n")[1].split("```")[0]
    (tmp_path / "tljh.sh").write_text(script)
    assert subprocess.run(["bash", "-n", str(tmp_path / "tljh.sh")]).returncode == 0
    assert f"tljh-config set limits.memory {got['memory_gib']:g}G" in script
    assert f"tljh-config set limits.cpu {got['cpu_limit']}" in script
    values = yaml.safe_load(block.split("```yaml\n")[1].split("```")[0])["singleuser"]
    assert values["memory"] == {"limit": f"{got['memory_gib']:g}G", "guarantee": f"{got['memory_gib']:g}G"}
    assert values["cpu"] == {"limit": got["cpu_limit"], "guarantee": got["cpu_guarantee"]}


def test_each_row_says_how_busy_the_machine_was():
    assert class_server.load("2026-12-03, 2-core x86_64 CPU, torch threads: 2, other processes used "
                             "23.5% of the CPU (not quiet: an upper bound)") == "23.5%"
    assert class_server.load("2026-12-03, 2-core x86_64 CPU") == "unknown"
