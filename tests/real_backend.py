"""Run a notebook's code cells in one namespace with the real-SD backend chosen (tiny weights).

Used with the ``offline_hub`` fixture: ``choose_backend`` is patched to answer "sd15" (for
``family="sd3"``: "sd35-medium"), so
``helpers.load_pipeline("text2img")`` loads the tiny sd15 from the offline hub cache and every
``if model != "mini-sd":`` branch a Colab student with a GPU would run is executed.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def code_cells(name: str) -> list[str]:
    """Return the sources of the code cells of notebook ``name`` (the Colab cell left out)."""
    nb = json.loads((NOTEBOOKS / name).read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    return [s for s in sources if not s.startswith("# colab-setup")]


def run_with_real_backend(name: str, monkeypatch) -> dict:
    """Return the namespace after running notebook ``name``'s code cells with backend sd15."""
    import helpers
    import helpers.core.loading

    matplotlib.use("Agg")

    from helpers.core.registry import FAMILIES

    def real(device=None, task="text2img", family="sd15"):
        if family == "sd15" and task == "inpaint":
            return "sd15-inpaint", "test: tiny real weights"
        return FAMILIES[family]["real"], "test: tiny real weights"

    monkeypatch.setattr(helpers.core.loading, "choose_backend", real)
    monkeypatch.setattr(helpers, "choose_backend", real)
    import helpers.core.device

    def cpu():
        return __import__("torch").device("cpu")

    monkeypatch.setattr(helpers.core.loading, "pick_device", cpu)  # the tiny weights run on the CPU,
    monkeypatch.setattr(helpers.core.device, "pick_device", cpu)  # also on a machine with a GPU
    namespace: dict = {"__name__": "__notebook__"}
    for i, source in enumerate(code_cells(name)):
        try:
            exec(compile(source, f"{name} code cell {i}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{name}, code cell {i} failed:\n{source[:600]}") from error
    return namespace
