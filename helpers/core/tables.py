"""Plain-text tables of results: ``show_table``, the one way the notebooks print a table.

The layout is tabulate's (an established, pure-Python package that Colab has preinstalled); the
numbers are written here, each with its column's format spec exactly as an f-string would write it
(``".3f"`` prints 0.125 as ``0.125``, ``","`` prints 12345 as ``12,345``), so a table shows the same
digits that the hand-aligned ``print(f"{x:>10.3f}")`` lines it replaces showed.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _scalar(value: Any) -> Any:
    """A zero-dimensional numpy array or torch tensor as its Python number; anything else as is."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return value.item()
    return value


def table_text(rows: Iterable[Sequence[Any]], headers: Sequence[str],
               formats: str | Sequence[str] = "") -> str:
    """Return ``rows`` as a plain-text table under ``headers``, each number written by its column's spec.

    ``formats`` is one format spec for every column, or one per column (``""`` writes a number as
    ``str`` does). Text is written as it is and ``None`` as an empty cell. Columns that hold only
    numbers are right-aligned, the others left-aligned.

    Used by helpers.core.tables (no notebook calls it).
    """
    rows = [[_scalar(value) for value in row] for row in rows]
    columns = len(headers)
    if any(len(row) != columns for row in rows):
        raise ValueError(f"every row needs {columns} values, one per header {list(headers)}")
    specs = [formats] * columns if isinstance(formats, str) else list(formats)
    if len(specs) != columns:
        raise ValueError(f"formats gives {len(specs)} specs for {columns} columns")
    cells = [["" if value is None else format(value, spec) if _is_number(value) else str(value)
              for value, spec in zip(row, specs, strict=True)] for row in rows]
    numeric = [all(_is_number(row[i]) for row in rows if row[i] is not None) for i in range(columns)]
    return tabulate(cells, headers=list(headers), tablefmt="simple", disable_numparse=True,
                    colalign=["right" if is_numeric else "left" for is_numeric in numeric])


def show_table(rows: Iterable[Sequence[Any]], headers: Sequence[str],
               formats: str | Sequence[str] = "") -> None:
    """Return None after printing ``rows`` under ``headers`` as a plain-text table (``table_text``).

    Returns nothing so that a table in a cell's last line is not shown twice.

    Used in 00_setup_check, 01_gan_vae_recap, 02_forward_diffusion, 03_reverse_diffusion,
    04_inside_stable_diffusion, 05_running_stable_diffusion, 06_prompt_engineering,
    07_failure_cases, 08_controlnet, 09_editing_and_personalization, 10_responsible_generation,
    11_flow_matching.
    """
    print(table_text(rows, headers, formats))
