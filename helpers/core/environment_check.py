"""The environment check of 00_setup_check: rows of [OK]/[FAIL] and a formatter for them."""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

import torch

from helpers.core.config import BUNDLED_MODEL_DIR
from helpers.core.device import hub_reachable, package_version, pick_device

#: Packages the workbook needs, with the lowest version each must have (None: any); the floors
#: of pyproject.toml. JupyterLab is not here: Colab has its own front end (``make lab`` adds it).
REQUIRED_PACKAGES: dict[str, str | None] = {
    "torch": None,
    "diffusers": "0.40",
    "transformers": "5",
    "peft": "0.18",
    "accelerate": None,
    "safetensors": None,
    "matplotlib": None,
    "ipython": "7.34",
    "ipywidgets": "7.7",
}
MIN_PYTHON = (3, 11)


@dataclass(frozen=True)
class CheckRow:
    """One line of the report. ``required`` rows must pass; the others are information.

    Used by helpers.core.environment_check (no notebook calls it).
    """

    name: str
    ok: bool
    detail: str
    required: bool = True

    @property
    def status(self) -> str:
        """The tag printed in front: OK, FAIL, or -- for optional things that are absent."""
        if self.ok:
            return "OK"
        return "FAIL" if self.required else "--"


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
        if not piece.isdigit():
            break
    return tuple(parts)


def version_at_least(installed: str, minimum: str) -> bool:
    """Return True if version string ``installed`` is at least ``minimum`` ("0.42.1" >= "0.40").

    Used by helpers.core.environment_check (no notebook calls it).
    """
    return _version_tuple(installed) >= _version_tuple(minimum)


def environment_report(check_hub: bool = True) -> list[CheckRow]:
    """Return the environment check as a list of ``CheckRow`` (Python, packages, device, hub, model).

    GPU and hub rows are information (a CPU and no network are fine: the bundled model runs);
    the other rows are required. ``check_hub=False`` skips the network probe.
    Used in 00_setup_check.
    """
    rows = [
        CheckRow(
            "python",
            sys.version_info[:2] >= MIN_PYTHON,
            f"{platform.python_version()} (need >= {'.'.join(map(str, MIN_PYTHON))})",
        )
    ]
    for name, minimum in REQUIRED_PACKAGES.items():
        found = package_version(name)
        if found is None:
            rows.append(CheckRow(name, False, "not installed"))
        elif minimum is not None and not version_at_least(found, minimum):
            rows.append(CheckRow(name, False, f"{found} (need >= {minimum})"))
        else:
            rows.append(CheckRow(name, True, found + (f" (>= {minimum})" if minimum else "")))
    device = pick_device()
    rows.append(CheckRow("device", True, str(device)))
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(0)
        rows.append(
            CheckRow(
                "gpu memory", True, f"{props.name}, {props.total_memory / 2**30:.1f} GiB", False
            )
        )
    else:
        rows.append(
            CheckRow(
                "gpu memory", False, "no CUDA GPU (fine: the bundled model runs on a CPU)", False
            )
        )
    if check_hub:
        reachable = hub_reachable()
        detail = (
            "huggingface.co answers"
            if reachable
            else "unreachable or offline (fine: bundled model)"
        )
        rows.append(CheckRow("hub reachable", reachable, detail, False))
    present = (BUNDLED_MODEL_DIR / "model_index.json").is_file()
    detail = (
        str(BUNDLED_MODEL_DIR)
        if present
        else "missing: build it with `python -m helpers.training.train_mini_sd`"
    )
    rows.append(CheckRow("bundled mini-sd", present, detail))
    return rows


def format_report(rows: list[CheckRow]) -> str:
    """Return ``rows`` as an aligned text table, one ``[OK]``/``[FAIL]`` line each, plus a verdict.

    Used in 00_setup_check.
    """
    width = max(len(row.name) for row in rows)
    lines = [f"{'[' + row.status + ']':<6} {row.name:<{width}}  {row.detail}" for row in rows]
    failed = [row.name for row in rows if row.required and not row.ok]
    lines.append("all required checks passed" if not failed else f"FAILED: {', '.join(failed)}")
    return "\n".join(lines)
