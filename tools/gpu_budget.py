#!/usr/bin/env python3
"""Count each notebook's real-backend work in full mode and keep its T4 estimate in tools/gpu_budget.json.

    python tools/gpu_budget.py                  # count 04-10 (pytest, tiny weights), write the JSON
    python tools/gpu_budget.py 05 08            # only these notebooks (the others' entries are kept)
    python tools/gpu_budget.py --collect        # only gather build/gpu_budget/*.json from the last run
    python tools/gpu_budget.py --costs my.json  # estimate with another costs table (nothing written)

It runs ``tests/test_gpu_budget.py::test_notebook_real_backend_full_mode_fits_a_t4`` (each notebook's
real-backend path in full mode, the tiny SD 1.5 stand-ins, every model call counted) at low priority
with one torch thread; each test writes its counts and estimate to build/gpu_budget/. The JSON is the
one source of the GPU estimates in the README table and the notebooks' header tables
(``python tools/navigation.py`` copies them there); the method is in README's "How GPU times are
estimated".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "build" / "gpu_budget"
BUDGET_JSON = REPO_ROOT / "tools" / "gpu_budget.json"
TEST = "tests/test_gpu_budget.py::test_notebook_real_backend_full_mode_fits_a_t4"


def run_counts(notebooks: list[str], costs: str | None) -> int:
    """Return pytest's exit status after counting ``notebooks`` (all when empty) into build/gpu_budget/."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WORKBOOK_FAST": "1", "WORKBOOK_CACHE": "off",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "WORKBOOK_BUDGET_ALL": "1"}
    if costs:
        env["WORKBOOK_T4_COSTS"] = str(Path(costs).resolve())
    select = ["-k", " or ".join(notebooks)] if notebooks else []
    command = ["nice", "-n", "10", sys.executable, "-m", "pytest", TEST, *select, "-q", "-p", "no:cacheprovider",
               "--durations=0"]
    print("running:", " ".join(command[3:]), flush=True)
    return subprocess.run(command, cwd=REPO_ROOT, env=env).returncode


def collect(costs_path: Path, only: list[str] | None = None) -> dict:
    """Return tools/gpu_budget.json's contents updated with the counts in build/gpu_budget/.

    With ``only`` (notebook numbers or names), only those notebooks' counts replace their entries: a
    count left in build/gpu_budget/ by an earlier run, of code that has changed since, must not
    overwrite the entry of a notebook that was not counted now.
    The estimates are made here, from each count's grouped calls and the costs in ``costs_path``, so a
    new costs table needs no new count.
    """
    sys.path.insert(0, str(REPO_ROOT))
    from helpers.gpu_budget.counting import WorkLog
    from helpers.gpu_budget.cuda_only import cuda_only_cells
    from helpers.gpu_budget.estimate import estimate, load_costs

    record = json.loads(BUDGET_JSON.read_text()) if BUDGET_JSON.exists() else {}
    costs = load_costs(costs_path)
    for path in sorted(RESULTS.glob("*.json")):
        if only and not any(path.stem.startswith(n) for n in only):
            continue
        count = json.loads(path.read_text())
        result = estimate(WorkLog.from_groups(count["groups"], count["bundled_weights_gib"]), costs)
        record[count["notebook"]] = {
            "code_hash": count["code_hash"],
            "t4_minutes": round(result["t4_seconds"] / 60, 1),
            "peak_gib": round(result["peak_gib"], 1),
            "sd15_seconds": round(result["sd_seconds"]),
            "bundled_seconds": round(result["bundled_seconds"]),
            "peak_call": result["peak_call"],
            "loaded": sorted(set(count["loaded"])),
            "largest": {unit: {"items": row["items"], "t4_seconds": round(row["t4_seconds"])}
                        for unit, row in list(result["by_unit"].items())[:4]},
            "counted": f"{count.get('counted_on', '?')}, full mode, tiny stand-ins for SD 1.5, "
                       f"counting took {count['counted_in_s']} s",
            "costs": costs.get("measured", costs["method"][:80]),
            "cuda_only_cells": list(cuda_only_cells(count["notebook"])),  # counted by hand
        }
    return dict(sorted(record.items()))


def main(argv: list[str] | None = None) -> int:
    """Count (unless --collect), print the table, and write tools/gpu_budget.json (unless --costs)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebook numbers or names (default: all counted ones)")
    parser.add_argument("--collect", action="store_true", help="only gather the last run's results")
    parser.add_argument("--costs", help="another costs table; prints the estimate and writes nothing")
    args = parser.parse_args(argv)
    if not args.collect:
        if not args.costs:
            for stale in RESULTS.glob("*.json"):
                if not args.notebooks or any(stale.stem.startswith(n) for n in args.notebooks):
                    stale.unlink()
        status = run_counts(args.notebooks, args.costs)
        if status not in (0, 1):
            return status
    record = collect(Path(args.costs) if args.costs else REPO_ROOT / "data" / "t4_costs.json",
                     only=args.notebooks or None)
    print(f"{'notebook':34} {'T4 min':>7} {'peak GiB':>9}  peak at")
    for name, row in record.items():
        print(f"{name:34} {row['t4_minutes']:>7} {row['peak_gib']:>9}  {row['peak_call']}")
    if args.costs:
        print("(--costs: tools/gpu_budget.json not written)")
        return 0
    BUDGET_JSON.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {BUDGET_JSON.relative_to(REPO_ROOT)}; now run: python tools/navigation.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
