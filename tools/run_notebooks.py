#!/usr/bin/env python3
"""Run every notebook top to bottom: handouts (``build``) or a warm generation cache (``warm``).

    python tools/run_notebooks.py build            # full mode: build/<name>.ipynb + .html, index
    python tools/run_notebooks.py build --fast     # the same in fast mode (WORKBOOK_FAST=1)
    python tools/run_notebooks.py warm             # run everything so helpers.generate caches it
    python tools/run_notebooks.py build 03_reverse_diffusion   # only some notebooks

``make build`` and ``make warm`` call this. Each notebook runs in a fresh kernel with
notebooks/ as its working folder, like JupyterLab, and prints one progress line with its wall
time (the kernel's own log goes to build/logs/). ``build`` runs with the generation cache off (WORKBOOK_CACHE=off), so the handouts show
what the model really did and how long it took; ``warm`` runs with the cache on and writes only
the cache. Both keep going after a failing notebook and exit 1 at the end if any failed.
``--record`` writes the measured times into tools/timings.json, which the README table quotes,
with how they were taken: the torch threads the kernel used and the share of the machine's CPU
that other processes used meanwhile (``tools/machine_load.py``; at most 5% counts as quiet). A
quiet wall time is replaced only by another quiet one (``--kernel-only`` keeps every wall time, for
a machine shared with other work). It also records each kernel's peak memory and CPU time
(``KERNEL_PROBE``), which the README's class-server table quotes (tools/class_server.py).
tests/test_timings.py holds every notebook to the class-time budget below.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from machine_load import (  # a sibling in tools/ (on sys.path when run as a script)
    QUIET_SHARE,
    Meter,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
BUILD_DIR = REPO_ROOT / "build"
TIMINGS = REPO_ROOT / "tools" / "timings.json"
#: A notebook's full mode must fit a class: at most 5 minutes on the 2-core machine (issue #17).
CLASS_BUDGET_S = 300
#: Fast mode (the tests' mode) stays under a minute.
FAST_BUDGET_S = 60
#: Appended to each run: reports the torch threads the kernel used (removed from the handout).
THREADS_PROBE = 'import torch\nprint("torch threads:", torch.get_num_threads())'
#: Appended last: the kernel's peak memory and CPU time, its own and its finished children's
#: (getrusage; ru_maxrss is KiB on Linux). Removed from the handout like the threads probe.
KERNEL_PROBE = (
    "import resource\n"
    "own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))\n"
    'print("kernel peak KiB:", own.ru_maxrss + kids.ru_maxrss, "cpu ms:",\n'
    "      round(1000 * (own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime)))"
)


def notebooks(names: list[str] | None = None) -> list[Path]:
    """Return the notebooks to run: all of notebooks/*.ipynb in order, or those named."""
    every = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    if not names:
        return every
    chosen = []
    for name in names:
        if name.endswith(".ipynb") and Path(name).is_file():  # a path to any notebook
            chosen.append(Path(name).resolve())
            continue
        stem = Path(name).stem
        match = [p for p in every if p.stem == stem or p.stem.startswith(stem + "_")]
        if len(match) != 1:
            known = ", ".join(p.stem for p in every)
            raise SystemExit(f"no single notebook called {name!r}; the notebooks are: {known}")
        chosen += match
    return chosen


def execute(path: Path, fast: bool, cache: bool, timeout: int, log: Path | None = None,
            env: dict[str, str] | None = None,
            append: list[str] | None = None) -> tuple[nbformat.NotebookNode, str | None]:
    """Return (executed notebook, error or None); the notebook keeps the outputs up to an error.

    The kernel process's own stdout/stderr (not the cells' outputs) go to ``log`` if given. ``env``
    adds environment variables for the kernel; ``append`` adds code cells that run after the
    notebook's own, in the same kernel (the notebook on disk is not changed).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in append or []]
    env = {**(env or {}), "WORKBOOK_FAST": "1" if fast else "0"}
    if not cache:
        env["WORKBOOK_CACHE"] = "off"
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    stream = log.open("w") if log is not None else None
    try:
        client.execute(**({"stdout": stream, "stderr": stream} if stream else {}))
        error = None
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as failure:
        error = str(failure).strip().splitlines()[-1][:300] if str(failure).strip() else repr(failure)
    finally:
        if stream is not None:
            stream.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return nb, error


def write_html(nb: nbformat.NotebookNode, target: Path) -> None:
    """Write ``nb`` as a stand-alone HTML page (JupyterLab's look)."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")


def write_index(rows: list[dict], out: Path, fast: bool) -> None:
    """Write build/index.html linking every handout with its time and status."""
    mode = "fast mode (WORKBOOK_FAST=1)" if fast else "full mode"
    items = "\n".join(
        f'<tr><td><a href="{r["name"]}.html">{r["name"]}</a></td><td>{r["seconds"]:.0f} s</td>'
        f'<td>{"ok" if r["error"] is None else "FAILED: " + r["error"]}</td></tr>' for r in rows)
    out.write_text(
        "<!doctype html><meta charset='utf-8'><title>sd-workbook handouts</title>"
        f"<h1>sd-workbook — 실행된 노트북 (executed notebooks)</h1><p>{mode}, "
        f"{datetime.date.today()}</p><table border=1 cellpadding=4><tr><th>notebook</th>"
        f"<th>wall time</th><th>result</th></tr>\n{items}\n</table>\n", encoding="utf-8")


def _pop_probe(nb: nbformat.NotebookNode, probe: str) -> list[int] | None:
    """Return the whole numbers ``probe`` printed in ``nb``'s last cell, and remove that cell.

    None (and nothing removed) if the last cell is not ``probe``.
    """
    last = nb.cells[-1] if nb.cells else None
    if last is None or last.get("source") != probe:
        return None
    nb.cells.pop()
    text = "".join(out.get("text", "") for out in last.get("outputs", []))
    return [int(word) for word in text.split() if word.isdigit()]


def torch_threads(nb: nbformat.NotebookNode) -> int | None:
    """Return the thread count THREADS_PROBE printed in ``nb``'s last cell, and remove that cell."""
    found = _pop_probe(nb, THREADS_PROBE)
    return found[0] if found else None


def kernel_usage(nb: nbformat.NotebookNode) -> dict | None:
    """Return {"peak_mib", "cpu_s"} KERNEL_PROBE printed in ``nb``'s last cell, and remove that cell.

    The peak is the kernel's own peak resident memory plus its largest finished child's (an upper
    bound on what the kernel held at once); the CPU time is user + system of both.
    """
    numbers = _pop_probe(nb, KERNEL_PROBE)
    if numbers is None or len(numbers) != 2:
        return None
    return {"peak_mib": round(numbers[0] / 1024), "cpu_s": round(numbers[1] / 1000, 1)}


def conditions(row: dict) -> str:
    """Return the sentence saying how one time was taken: date, machine, threads, how quiet."""
    share = row.get("others_share")
    quiet = ("unknown share of the CPU used by other processes" if share is None else
             f"other processes used {share:.1%} of the CPU "
             f"({'quiet' if share <= QUIET_SHARE else 'not quiet: an upper bound'})")
    return (f"{datetime.date.today()}, {os.cpu_count()}-core {platform.machine()} CPU, torch threads: "
            f"{row.get('torch_threads') or 'unknown'}, {quiet}")


def record(rows: list[dict], fast: bool, walls: bool = True) -> None:
    """Merge the measurements into tools/timings.json, each with how it was taken.

    Wall times (unless ``walls`` is False) and the kernel's peak memory and CPU time alike: a quiet
    measurement replaces any, a busy one only a busy or missing one.
    """
    data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    mode = "fast" if fast else "full"
    for r in rows:
        if r["error"] is None:
            entry = data.setdefault(r["name"], {})
            share = r.get("others_share")
            quiet = share is not None and share <= QUIET_SHARE
            old_share = entry.get(f"cpu_{mode}_others_share")
            was_quiet = old_share is not None and old_share <= QUIET_SHARE
            if walls and (quiet or not was_quiet):  # a quiet wall time only by a quiet one
                entry[f"cpu_{mode}_s"] = round(r["seconds"])
                entry[f"cpu_{mode}_measured"] = conditions(r)
                entry[f"cpu_{mode}_torch_threads"] = r.get("torch_threads")
                entry[f"cpu_{mode}_others_share"] = None if share is None else round(share, 4)
            # The kernel's CPU time grows on a busy machine too (its threads spin waiting for a
            # core), so the same rule holds: a quiet measurement is replaced only by a quiet one.
            kernel_was_quiet = "(quiet)" in entry.get(f"kernel_{mode}_measured", "")
            if r.get("kernel") and (quiet or not kernel_was_quiet):
                entry[f"kernel_{mode}_peak_mib"] = r["kernel"]["peak_mib"]
                entry[f"kernel_{mode}_cpu_s"] = r["kernel"]["cpu_s"]
                entry[f"kernel_{mode}_measured"] = conditions(r)
                entry[f"kernel_{mode}_others_share"] = None if share is None else round(share, 4)
    TIMINGS.write_text(json.dumps(dict(sorted(data.items())), indent=2, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks as asked; return 0 if every one ran without an error."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["build", "warm"])
    parser.add_argument("notebooks", nargs="*", help="names, NN prefixes or .ipynb paths (default: all)")
    parser.add_argument("--fast", action="store_true", help="WORKBOOK_FAST=1 (the tests' mode)")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help="where build writes")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--record", action="store_true", help="write times to tools/timings.json")
    parser.add_argument("--kernel-only", action="store_true",
                        help="with --record: record kernel memory and CPU time, keep the wall times")
    args = parser.parse_intermixed_args(argv)

    paths = notebooks(args.notebooks)
    cache = args.what == "warm"
    if cache:
        sys.path.insert(0, str(REPO_ROOT))
        from helpers.core.generation_cache import cache_dir

        folder = cache_dir()
        if folder is None:
            print("make warm: the generation cache is off (WORKBOOK_CACHE=off); nothing to warm.",
                  file=sys.stderr)
            return 2
        print(f"warming the generation cache in {folder}")
    else:
        args.out.mkdir(parents=True, exist_ok=True)
    mode = "fast" if args.fast else "full"
    rows = []
    began = time.perf_counter()
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {path.stem} ({mode} mode) ...", flush=True)
        logs = (args.out if not cache else Path(folder)) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with Meter() as meter:
            nb, error = execute(path, args.fast, cache, args.timeout, logs / f"{path.stem}.kernel.log",
                                append=[THREADS_PROBE, KERNEL_PROBE])
        seconds = meter.seconds
        kernel = kernel_usage(nb)
        threads = torch_threads(nb)
        if not cache:
            nbformat.write(nb, args.out / path.name)
            write_html(nb, args.out / f"{path.stem}.html")
        rows.append({"name": path.stem, "seconds": seconds, "error": error,
                     "torch_threads": threads, "others_share": meter.others_share,
                     "kernel": kernel})
        status = "ok" if error is None else f"FAILED: {error}"
        usage = (f"; kernel peak {kernel['peak_mib']} MiB, CPU {kernel['cpu_s']:.0f} s" if kernel else "")
        print(f"[{i}/{len(paths)}] {path.stem}: {status} in {seconds:.1f} s{usage} "
              f"({conditions(rows[-1])})", flush=True)
    if not cache:
        write_index(rows, args.out / "index.html", args.fast)
        print(f"handouts: {args.out}/ (index.html, one .ipynb and .html per notebook)")
    if args.record:
        record(rows, args.fast, walls=not args.kernel_only)
    failed = [r["name"] for r in rows if r["error"] is not None]
    total = time.perf_counter() - began
    print(f"{args.what}: {len(rows) - len(failed)}/{len(rows)} notebooks ok in {total:.0f} s"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
