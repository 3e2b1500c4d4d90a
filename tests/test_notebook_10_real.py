"""10_responsible_generation on the real-SD code path: tiny sd15, CLIP and safety checker, offline."""

from __future__ import annotations

from real_backend import run_with_real_backend
from test_notebook_05_real import add_tiny_clip
from test_responsible_generation import tiny_safety_checker

from conftest import snapshot_dir


def add_tiny_safety_checker(cache, monkeypatch) -> None:
    """Put a tiny random-weight safety checker (flags nothing) in the offline hub cache."""
    import helpers.responsible.safety
    from helpers.core.registry import REGISTRY

    folder = snapshot_dir(cache, REGISTRY["safety-checker"].hub_id)
    checker, extractor = tiny_safety_checker(threshold=1.0)
    checker.save_pretrained(folder)
    extractor.save_pretrained(folder)
    monkeypatch.setattr(helpers.responsible.safety, "_LOADED", {})


def test_notebook_10_runs_on_real_sd15_with_the_safety_checker(offline_hub, monkeypatch):
    add_tiny_clip(offline_hub, monkeypatch)
    add_tiny_safety_checker(offline_hub, monkeypatch)
    ns = run_with_real_backend("10_responsible_generation.ipynb", monkeypatch)
    assert ns["model"] == "sd15" and ns["metric"].startswith("CLIP")
    assert ns["made"][0].size == (16, 16) and ns["generated"][0].size == (64, 64)  # detector input
    assert ns["originals"][0].size == (256, 256)  # enlarged for the watermark library
    # the safety checker really ran, alone and inside the pipeline, and flagged nothing
    assert type(ns["checker"]).__name__ == "StableDiffusionSafetyChecker"
    assert ns["flags"] == [False] * 4 and ns["out"].nsfw_content_detected == [False]
    assert ns["safe_pipe"].safety_checker is ns["checker"] and ns["pipe"].safety_checker is None
    assert set(ns["heim"]) == set(ns["settings"])
    for row in ns["heim"].values():
        assert 0 <= row["alignment"] <= 100 and row["frechet"] >= 0 and 0 <= row["diversity"] <= 2
