"""06_prompt_engineering on the real-SD code path: tiny sd15 and CLIP from the offline hub."""

from __future__ import annotations

from real_backend import run_with_real_backend
from test_notebook_05_real import add_tiny_clip


def test_notebook_06_runs_on_real_sd15(offline_hub, monkeypatch):
    add_tiny_clip(offline_hub, monkeypatch)
    ns = run_with_real_backend("06_prompt_engineering.ipynb", monkeypatch)
    assert ns["model"] == "sd15" and len(ns["parts"]) == 5  # medium, style, lighting shown
    assert ns["same"] and ns["n_tokens"] > ns["limit"] == 16
    assert ns["matrix"][-1] == "a lighthouse, at night, watercolor"
    assert len(ns["rows"]) == 4 and len(ns["rows"][0]) == 4
    assert all(0 <= r["adherence"] <= 100 for r in ns["specified"].values())
    assert set(ns["mixed"]) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert type(ns["helpers"].playground(ns["pipe"])).__name__ == "VBox"
