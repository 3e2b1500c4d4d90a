"""Whether code runs in a notebook kernel, and showing something there at once: ``in_notebook``, ``show_now``."""

from __future__ import annotations

from typing import Any


def in_notebook() -> bool:
    """Return True when running inside a Jupyter or Colab kernel (an IPython shell with a kernel).

    Used by helpers.checks.api, helpers.core.notebook (no notebook calls it).
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_now(obj: Any) -> bool:
    """Return True after displaying ``obj`` in the notebook at once, or False outside a notebook.

    ``IPython.display.display`` puts the object into the running cell's output where it is
    called, not only when it is the cell's last line.
    Used by helpers.core.images (no notebook calls it).
    """
    if not in_notebook():
        return False
    from IPython.display import display

    display(obj)
    return True
