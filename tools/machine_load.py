"""How busy the machine was while we timed something: the CPU other processes used meanwhile.

``tools/run_notebooks.py --record`` calls ``Meter`` around each notebook: the machine's busy CPU
time (``/proc/stat``) minus this process's and its waited-for children's (the notebook's kernel),
over the wall time. A quiet machine shows a share near 0; the record keeps the share, so a
timing taken beside other jobs says so. Linux only; elsewhere the share is unknown (None).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
#: Other processes may use at most this share of the machine's CPU for a timing to count as quiet.
QUIET_SHARE = 0.05


def machine_busy_seconds() -> float | None:
    """Return the CPU seconds every core has spent busy since boot, or None off Linux."""
    if not PROC_STAT.exists():
        return None
    fields = PROC_STAT.read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """Return the CPU seconds of this process and its finished, waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Meter:
    """Measure wall time and the share of the machine's CPU that other processes used.

    ``with Meter() as m: ...`` then ``m.seconds``, ``m.others_share`` (None off Linux).
    """

    def __enter__(self) -> Meter:
        self.began = time.perf_counter()
        self.busy0, self.own0 = machine_busy_seconds(), own_seconds()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.began
        busy1 = machine_busy_seconds()
        if self.busy0 is None or busy1 is None or self.seconds <= 0:
            self.others_share = None
            return
        others = max(0.0, (busy1 - self.busy0) - (own_seconds() - self.own0))
        self.others_share = others / (self.seconds * (os.cpu_count() or 1))

    def verdict(self) -> str:
        """Return 'quiet', 'shared' or 'unknown' for the measured share."""
        if self.others_share is None:
            return "unknown"
        return "quiet" if self.others_share <= QUIET_SHARE else "shared"
