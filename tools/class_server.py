#!/usr/bin/env python3
"""Size a class server from measurement: the README's kernel table and its JupyterHub limits.

    python tools/class_server.py                  # rewrite the README block from the measurements
    python tools/class_server.py --check          # exit 1 if the README block is out of step
    python tools/class_server.py --measure-server # measure an idle JupyterLab server's memory

The per-notebook numbers come from tools/timings.json (``python tools/run_notebooks.py build
--record`` measures each kernel's peak memory and CPU time in full mode); the JupyterLab server's
own memory from tools/class_server.json (``--measure-server``). The limits follow stated rules:

- memory per student = (largest kernel peak + the JupyterLab server) x 1.25, rounded up to 0.5 GiB:
  one notebook's kernel at a time, as in class, with a quarter to spare;
- CPU guarantee per student = the most CPU time any notebook's kernel used in full mode divided by
  the class budget (300 s), rounded up to 0.25 core: every student can run the slowest notebook in
  full mode within the budget while the whole class runs at once; the CPU limit is 2 cores (the
  torch threads the measurements ran with), so a student alone on the server goes faster;
- a class of N needs N x the memory + 2 GiB and N x the CPU guarantee + 1 core (an allowance for
  the hub and the system), counted in servers of 64 GiB and 16 cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings in tools/
from run_notebooks import CLASS_BUDGET_S  # noqa: E402 - a notebook's full mode must fit a class

REPO_ROOT = Path(__file__).resolve().parent.parent
README = REPO_ROOT / "README.md"
TIMINGS = REPO_ROOT / "tools" / "timings.json"
SERVER = REPO_ROOT / "tools" / "class_server.json"
START, END = "<!-- class-server:start -->", "<!-- class-server:end -->"
MARGIN = 1.25
CPU_LIMIT = 2
#: an allowance for the hub, the proxy and the system (not measured)
HUB_GIB, HUB_CORES = 2, 1
#: the reference server the class arithmetic counts in
SERVER_GIB, SERVER_CORES = 64, 16


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step


def limits(timings: dict, server_mib: float) -> dict:
    """Return the per-student limits the rules in this module's docstring give."""
    rows = {stem: e for stem, e in timings.items() if "kernel_full_peak_mib" in e}
    if not rows:
        raise SystemExit("no kernel measurements in tools/timings.json: run "
                         "python tools/run_notebooks.py build --record")
    peak_stem = max(rows, key=lambda s: rows[s]["kernel_full_peak_mib"])
    cpu_stem = max(rows, key=lambda s: rows[s]["kernel_full_cpu_s"])
    peak = rows[peak_stem]["kernel_full_peak_mib"]
    memory_gib = _round_up((peak + server_mib) * MARGIN / 1024, 0.5)
    cpu = rows[cpu_stem]["kernel_full_cpu_s"]
    guarantee = max(0.25, _round_up(cpu / CLASS_BUDGET_S, 0.25))
    return {"peak_stem": peak_stem, "peak_mib": peak, "server_mib": server_mib,
            "memory_gib": memory_gib, "cpu_stem": cpu_stem, "cpu_s": cpu,
            "cpu_guarantee": guarantee, "cpu_limit": CPU_LIMIT}


def _gib(value: float) -> str:
    return f"{value:g}G"


def conditions(measured: list[str]) -> str:
    """Return one sentence for many "how measured" strings: their setups and the range of load."""
    setups = sorted({text.split(", other processes")[0] for text in measured})
    shares = sorted(float(m) for text in measured
                    for m in re.findall(r"other processes used ([0-9.]+)% of the CPU", text))
    load = (f"; other processes used {shares[0]:g}–{shares[-1]:g}% of the CPU meanwhile"
            if shares else "")
    return "; ".join(setups) + load


def load(measured: str) -> str:
    """Return the share of the CPU other processes used, as "0.4%", from a "how measured" string."""
    found = re.search(r"other processes used ([0-9.]+)% of the CPU", measured)
    return f"{found.group(1)}%" if found else "unknown"


def class_size(got: dict, students: int) -> dict:
    """Return what ``students`` running at once need: memory (GiB), cores, and reference servers."""
    memory = students * got["memory_gib"] + HUB_GIB
    cores = students * got["cpu_guarantee"] + HUB_CORES
    servers = max(math.ceil(memory / SERVER_GIB), math.ceil(cores / SERVER_CORES))
    return {"memory_gib": memory, "cores": cores, "servers": servers}


def block(timings: dict, server: dict) -> str:
    """Return the README block: the kernel table, the limits and the hub settings that use them."""
    from helpers.core.config import REPO_BRANCH, REPO_URL

    rows = [(stem, e) for stem, e in sorted(timings.items()) if "kernel_full_peak_mib" in e]
    got = limits(timings, server["rss_mib"])
    measured = conditions([e["kernel_full_measured"] for _, e in rows])
    table = "\n".join(f"| {stem} | {e['kernel_full_peak_mib']:,} | {e['kernel_full_cpu_s']:.0f} | "
                      f"{e.get('cpu_full_s', '–')} | {load(e['kernel_full_measured'])} |"
                      for stem, e in rows)
    n = 30
    need = class_size(got, n)
    owner_repo = REPO_URL.removeprefix("https://github.com/").removesuffix(".git").strip("/")
    binder = f"https://mybinder.org/v2/gh/{owner_repo}/{REPO_BRANCH}?urlpath=lab/tree/notebooks"
    return f"""{START}
The whole workbook on Binder: [![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})

| notebook (full mode) | kernel peak memory (MiB) | kernel CPU time (s) | wall time (s) | other load |
|---|---:|---:|---:|---:|
{table}

Measured by `python tools/run_notebooks.py build --record` (each kernel's own peak resident memory
plus its children's, and their user + system CPU time, read by the kernel itself with `getrusage` after
the last cell): {measured}. "Other load" is the share of the CPU other processes used during the
kernel's run. Peak memory hardly depends on it, CPU time does (torch's threads spin while they wait
for a core, and that counts), so a quiet measurement (at most 5%) is kept over a busy one and a busy
row is an upper bound. The wall times are the quiet ones of the notebooks table below. An idle
JupyterLab server
(`jupyter lab`, no kernel) held {server["rss_mib"]:.0f} MiB ({server["measured"]};
`python tools/class_server.py --measure-server`). To measure again:
`python tools/run_notebooks.py build --record --kernel-only --out build/measure` (`--kernel-only`
keeps the quiet wall times when the machine is busy), then `python tools/class_server.py`.

Per student, by the rules in `tools/class_server.py`: memory **{got["memory_gib"]:g} GiB** = (largest
kernel peak {got["peak_mib"]:,} MiB, {got["peak_stem"]}, + the server {got["server_mib"]:.0f} MiB) × {MARGIN},
rounded up to 0.5 GiB; CPU guarantee **{got["cpu_guarantee"]:g}** core = the most kernel CPU time,
{got["cpu_s"]:.0f} s ({got["cpu_stem"]}), over the {CLASS_BUDGET_S} s class budget, rounded up to a quarter
core; CPU limit **{got["cpu_limit"]}** cores (the torch threads of the measurement, so a student alone
goes faster). For N students running at once: N × {got["memory_gib"]:g} GiB + {HUB_GIB} GiB of memory and
N × {got["cpu_guarantee"]:g} + {HUB_CORES} cores ({HUB_GIB} GiB and {HUB_CORES} core: an allowance for the hub
and the system, not measured). A class of {n}: {n} × {got["memory_gib"]:g} + {HUB_GIB} = {need["memory_gib"]:g} GiB
and {n} × {got["cpu_guarantee"]:g} + {HUB_CORES} = {need["cores"]:g} cores, that is {need["servers"]} server(s)
of {SERVER_GIB} GiB and {SERVER_CORES} cores. The rule counts one running kernel per student: a kernel
left running in another tab counts again, so ask students to shut down the last notebook's kernel
(커널 → 커널 종료, Kernel → Shut Down Kernel) before opening the next.

The Littlest JupyterHub (one server, up to a few dozen students). The workbook needs Python 3.11
or newer and TLJH's user environment (`/opt/tljh/user`, which runs JupyterLab) may be older, so the
kernels get their own environment, registered as the default `python3` kernel; JupyterLab gets the
live slides and the Korean menus. Written from TLJH's documentation, not yet tried on a TLJH server:

```bash
curl -L https://tljh.jupyter.org/bootstrap.py | sudo python3 - --admin instructor   # your admin's name
sudo git clone {REPO_URL} /srv/sd-workbook && cd /srv/sd-workbook
sudo /opt/tljh/user/bin/mamba create -y -p /opt/sd-workbook -c conda-forge python=3.11
sudo /opt/sd-workbook/bin/pip install --index-url https://download.pytorch.org/whl/cpu -r constraints/cpu.txt
sudo /opt/sd-workbook/bin/pip install -c constraints/cpu.txt -e . ipykernel
sudo /opt/sd-workbook/bin/python -m ipykernel install --prefix /opt/tljh/user --name python3 \\
    --display-name "Python 3 (sd-workbook)"
sudo -E /opt/tljh/user/bin/pip install jupyterlab-rise jupyterlab-language-pack-ko-KR
sudo mkdir -p /opt/tljh/user/share/jupyter/lab/settings
sudo cp jupyterlab-settings/overrides.json /opt/tljh/user/share/jupyter/lab/settings/   # Korean menus
sudo tljh-config set limits.memory {_gib(got["memory_gib"])}
sudo tljh-config set limits.cpu {got["cpu_limit"]}
sudo tljh-config set user_environment.default_app jupyterlab
sudo tljh-config reload
```

Each student's server starts in their home folder: hand out the student edition (`make editions`,
`build/editions/student/`) there, for example with nbgitpuller links or by copying it in.

Zero to JupyterHub on Kubernetes (a cluster): build the image with repo2docker from this
repository (`jupyter-repo2docker --no-run --image-name <registry>/sd-workbook:<tag> .`, which
reads `binder/` and puts the workbook in the image's home folder, `/home/jovyan`), push it, and in the
Helm chart's `config.yaml` (students' persistent storage goes to `work/`, so it does not hide the
workbook; what they want to keep, they save there):

```yaml
singleuser:
  image:
    name: <registry>/sd-workbook
    tag: <tag>
  defaultUrl: /lab/tree/notebooks
  storage:
    homeMountPath: /home/jovyan/work
  memory:
    limit: {_gib(got["memory_gib"])}
    guarantee: {_gib(got["memory_gib"])}
  cpu:
    limit: {got["cpu_limit"]}
    guarantee: {got["cpu_guarantee"]:g}
```
{END}"""


def measure_server() -> dict:
    """Return the resident memory of an idle JupyterLab server (MiB) and how it was measured."""
    import psutil

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(8)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--ServerApp.token={token}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={REPO_ROOT / 'notebooks'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("JupyterLab did not start") from None
                time.sleep(1)
        time.sleep(5)  # settle after serving the page
        rss = psutil.Process(server.pid).memory_info().rss / 2**20
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return {"rss_mib": round(rss), "measured": f"{datetime.date.today()}, {os.cpu_count()}-core "
            f"{platform.machine()}, after serving /lab once"}


def main(argv: list[str] | None = None) -> int:
    """Write or check the README block; measure the server when asked."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--measure-server", action="store_true")
    args = parser.parse_args(argv)
    if args.measure_server:
        SERVER.write_text(json.dumps(measure_server(), indent=2) + "\n")
        print(f"wrote {SERVER.relative_to(REPO_ROOT)}: {SERVER.read_text().strip()}")
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    wanted = block(json.loads(TIMINGS.read_text()), json.loads(SERVER.read_text()))
    head, rest = text.split(START, 1)
    new = head + wanted + rest.split(END, 1)[1]
    if new == text:
        return 0
    if args.check:
        print("README.md's class-server block is out of step: run python tools/class_server.py",
              file=sys.stderr)
        return 1
    README.write_text(new, encoding="utf-8")
    print("updated: README.md class-server block")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
