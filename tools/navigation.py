#!/usr/bin/env python3
"""Keep the README's notebook table and layout and each notebook's closing "next" link in step.

    python tools/navigation.py            # rewrite the README table and layout, the "next" links
    python tools/navigation.py --check    # exit 1 and say what is out of step

Everything comes from the notebooks themselves (notebooks/*.ipynb, in file-name order):

- title: the first line of the first markdown cell ("# 03. ...");
- goal: ``metadata.workbook.goal`` if the notebook has one (a single line), else the first
  sentence under "## 이 노트북에서 배우는 것" (or, lacking that heading, under the title);
- CPU time: measured wall times from tools/timings.json, written by
  ``python tools/run_notebooks.py build [--fast] --record`` ("not measured" where there is none);
- GPU time: ``gpu_full_s`` in tools/timings.json when someone measured it on a GPU, else the T4
  estimate of the notebook's full mode in tools/gpu_budget.json (written by ``tools/gpu_budget.py``;
  the method is README's "How GPU times are estimated"), else "not measured"; the same estimate
  goes into the Colab GPU column of the notebook's header table (the row "예상 시간");
- the Open-in-Colab link: the same link as the notebook's badge (tools/stamp_notebooks.py).

The table sits in README.md between ``<!-- notebook-table:start -->`` and
``<!-- notebook-table:end -->``. The "next" link is the last line of each notebook's last
markdown cell, starting ``**다음 (next):**``, with the next notebook's title and, for the students,
the first sentence under its "## 이 노트북에서 배우는 것" in Korean (the README's goal column stays
English); the last notebook points back to the README list.

The README's "Layout" block (between ``<!-- layout:start -->`` and ``<!-- layout:end -->``) lists
every package and module of helpers/ and every script of tools/ by its docstring's first line;
tools/layout.py writes it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
README = REPO_ROOT / "README.md"
TIMINGS = REPO_ROOT / "tools" / "timings.json"
GPU_BUDGET = REPO_ROOT / "tools" / "gpu_budget.json"
ESTIMATE_METHOD = "../README.md#how-gpu-times-are-estimated"
TIME_ROW = "| 예상 시간 |"
START, END = "<!-- notebook-table:start -->", "<!-- notebook-table:end -->"
NEXT = "**다음 (next):**"
LEARN = "이 노트북에서 배우는 것"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stamper():
    return _tool("stamp_notebooks")


def _between(text: str, start: str, end: str, what: str) -> tuple[str, str, str]:
    """Return README ``text`` split as (before, the block with its markers, after)."""
    if start not in text or end not in text:
        raise SystemExit(f"README.md has no {start} ... {end} markers for the {what}")
    head, rest = text.split(start, 1)
    block, tail = rest.split(end, 1)
    return head, start + block + end, tail


def title(nb: nbformat.NotebookNode, path: Path) -> str:
    """Return the notebook's title: its first markdown line without the leading '#'."""
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None or not first.source.startswith("# "):
        raise ValueError(f"{path.name}: the first markdown cell must start with '# <title>'")
    return first.source.split("\n", 1)[0][2:].strip()


def goal(nb: nbformat.NotebookNode, path: Path) -> str:
    """Return the notebook's one-line goal (metadata.workbook.goal, else the first sentence taught)."""
    given = nb.metadata.get("workbook", {}).get("goal")
    if given:
        return " ".join(str(given).split())
    return taught(nb, path)


def taught(nb: nbformat.NotebookNode, path: Path) -> str:
    """Return the first sentence under the notebook's "이 노트북에서 배우는 것" (Korean, for students)."""
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    lines = first.source.split("\n")
    at = next((i for i, line in enumerate(lines) if LEARN in line), 0)  # else after the title
    text = next((line.strip() for line in lines[at + 1:] if line.strip()
                 and not line.lstrip().startswith(("#", "<!--", "[![", "|", "**"))), "")
    if not text:
        raise ValueError(f"{path.name}: no goal; add metadata.workbook.goal or a line under '## {LEARN}'")
    sentence = re.split(r"(?<=[.!?다])\s", text, maxsplit=1)[0]
    return sentence


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def cpu_time(stem: str, timings: dict) -> str:
    """Return "fast X, full Y" from the measured times; what was not measured is said so."""
    entry = timings.get(stem, {})
    parts = [f"{mode} {_minutes(entry[f'cpu_{mode}_s'])}" for mode in ("fast", "full")
             if f"cpu_{mode}_s" in entry]
    if not parts:
        return "not measured"
    if len(parts) == 1:
        parts.append(f"{'full' if parts[0].startswith('fast') else 'fast'} not measured")
    return ", ".join(parts)


def how_measured(timings: dict) -> str:
    """Return how the CPU times were taken: torch threads, and whether the machine was quiet."""
    rows = [row for row in timings.values() if isinstance(row, dict)]
    threads = sorted({row.get(f"cpu_{m}_torch_threads") for row in rows for m in ("full", "fast")} - {None})
    shares = [row.get(f"cpu_{m}_others_share") for row in rows for m in ("full", "fast")
              if f"cpu_{m}_s" in row]
    if not shares or any(share is None for share in shares):
        quiet = "some of them while other jobs shared the machine, so those are on the slow side"
    else:
        quiet = (f"quiet (other processes used at most {max(shares):.1%} of the CPU "
                 "during each run)")
    said = (f"torch threads: {', '.join(map(str, threads))} (torch's default on a 2-core machine is 2)"
            if threads else "torch threads not recorded")
    return f"{quiet}, {said}"


def gpu_time(stem: str, timings: dict, budget: dict) -> str:
    """Return the measured GPU time, else the T4 estimate (labelled so), else "not measured"."""
    entry = timings.get(stem, {})
    if "gpu_full_s" in entry:
        return _minutes(entry["gpu_full_s"])
    if stem in budget:
        return f"estimate: full {budget[stem]['t4_minutes']:g} min, {budget[stem]['peak_gib']:g} GiB on a T4"
    return "not measured"


def header_estimate(stem: str, budget: dict) -> str:
    """Return the Korean T4 estimate that ends the Colab GPU cell of notebook ``stem``'s time row."""
    row = budget[stem]
    return (f"전체 모드 T4 추정(estimate) 약 {row['t4_minutes']:g}분, 최대 {row['peak_gib']:g} GiB "
            f"([추정 방법]({ESTIMATE_METHOD}))")


def with_header_estimate(source: str, estimate: str) -> str:
    """Return the first markdown cell ``source`` with its time row's GPU cell ending in ``estimate``.

    The cell keeps what it says before its last " + " (the downloads) and gets the estimate after it.
    """
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(TIME_ROW):
            cells = line.strip().strip("|").split(" | ")
            before = cells[-1].strip().rsplit(" + ", 1)[0] if " + " in cells[-1] else ""
            cells[-1] = f"{before} + {estimate}" if before else estimate
            lines[i] = "| " + " | ".join(c.strip() for c in cells) + " |"
    return "\n".join(lines)


def load_notebooks() -> list[tuple[Path, nbformat.NotebookNode]]:
    """Return every notebook, in order, with its parsed contents."""
    return [(p, nbformat.read(p, as_version=4)) for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))]


def readme_table(books: list[tuple[Path, nbformat.NotebookNode]]) -> str:
    """Return the markdown of the README's notebook table (between the markers, inclusive)."""
    stamper = _stamper()
    url, branch = stamper.default_repo()
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    budget = json.loads(GPU_BUDGET.read_text()) if GPU_BUDGET.exists() else {}
    rows = [
        "| notebook | goal | CPU time (2-core, measured) | GPU time | open |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, nb in books:
        badge = stamper.badge_markdown(url, branch, path.name).split("\n")[1]
        link = re.search(r"\)\]\((https://colab[^)]+)\)", badge).group(1)  # the link, not the image
        binder = re.search(r"\)\]\((https://mybinder[^)]+)\)", badge).group(1)
        cells = [f"[{title(nb, path)}](notebooks/{path.name})", goal(nb, path).replace("|", "\\|"),
                 cpu_time(path.stem, timings), gpu_time(path.stem, timings, budget), f"[Open in Colab]({link}) · [Binder]({binder})"]
        rows.append("| " + " | ".join(cells) + " |")
    note = ("Generated by `python tools/navigation.py` from the notebooks and `tools/timings.json`. "
            "CPU times are wall times of `python tools/run_notebooks.py build [--fast] --record` "
            "(fast = `WORKBOOK_FAST=1`, the tests' mode; full = what a student runs) on the "
            f"project's 2-core machine, {how_measured(timings)} (conditions per notebook in "
            "`tools/timings.json`). No GPU was "
            "available to measure GPU times: the GPU column is an estimate for a notebook's full mode "
            "on a free Colab T4 (float16, 512 px), from `tools/gpu_budget.json`; see "
            "[How GPU times are estimated](#how-gpu-times-are-estimated).")
    return "\n".join([START, *rows, "", note, END])


def next_line(books: list[tuple[Path, nbformat.NotebookNode]], i: int) -> str:
    """Return the closing "next" line of notebook ``i``."""
    if i + 1 < len(books):
        path, nb = books[i + 1]
        return f"{NEXT} [{title(nb, path)}]({path.name}) — {taught(nb, path)}"
    return f"{NEXT} 마지막 노트북입니다. 전체 목록: [README의 노트북 표](../README.md#notebooks)"


def with_next_line(source: str, line: str) -> str:
    """Return markdown ``source`` ending with ``line`` in place of any old "next" line."""
    kept = [ln for ln in source.rstrip("\n").split("\n")
            if not ln.startswith(NEXT) and not ln.startswith("**다음:**")]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join([*kept, "", line]) if kept else line


def out_of_step(write: bool) -> list[str]:
    """Return what is out of step (README table and layout, "next" links); fix it too when ``write``."""
    books = load_notebooks()
    stale = []
    layout = _tool("layout")
    blocks = [("notebook table", START, END, readme_table(books)),
              ("layout", layout.START, layout.END, layout.layout_block(REPO_ROOT))]
    for what, start, end, wanted in blocks:
        head, current, tail = _between(README.read_text(encoding="utf-8"), start, end, what)
        if current != wanted:
            stale.append(f"README.md {what}")
            if write:
                README.write_text(head + wanted + tail, encoding="utf-8")
    budget = json.loads(GPU_BUDGET.read_text()) if GPU_BUDGET.exists() else {}
    for i, (path, nb) in enumerate(books):
        first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if path.stem in budget and first is not None:
            wanted = with_header_estimate(first.source, header_estimate(path.stem, budget))
            if first.source != wanted:
                stale.append(f"{path.name}: header GPU estimate")
                if write:
                    first.source = wanted
                    nbformat.write(nb, path)
        last = next((c for c in reversed(nb.cells) if c.cell_type == "markdown"), None)
        if last is None:
            raise SystemExit(f"{path.name} has no markdown cell to end with the next link")
        wanted = with_next_line(last.source, next_line(books, i))
        if last.source != wanted:
            stale.append(f"{path.name}: closing next link")
            if write:
                last.source = wanted
                nbformat.write(nb, path)
    return stale


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check only report) the README table and layout and the next links."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is out of step")
    args = parser.parse_args(argv)
    stale = out_of_step(write=not args.check)
    for item in stale:
        print(f"{'out of step' if args.check else 'updated'}: {item}")
    if args.check and stale:
        print("run: python tools/navigation.py", file=sys.stderr)
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
