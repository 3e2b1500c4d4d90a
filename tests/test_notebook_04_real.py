"""04_inside_stable_diffusion on the real-SD code path (tiny sd15 weights from the offline hub)."""

from __future__ import annotations

import numpy as np
from real_backend import run_with_real_backend


def test_notebook_04_runs_on_real_sd15_and_its_loop_equals_the_pipeline(offline_hub, monkeypatch):
    ns = run_with_real_backend("04_inside_stable_diffusion.ipynb", monkeypatch)
    assert ns["model"] == "sd15"
    assert type(ns["pipe"].scheduler).__name__ == "DDIMScheduler"
    assert ns["max_length"] == 16  # the tiny tokenizer's length (77 on the real model)
    assert ns["difference"].max() <= 2
    assert ns["gap"] < 0.05
    assert ns["side_factor"] == 2 and ns["latents"].shape[1] == 4
    # The real backend runs only the two smallest sides and estimates the rest.
    assert [c["estimated"] for c in ns["costs"].values()] == [False, False, True, True]
    assert np.asarray(ns["mine"]).shape == (16, 16, 3)
