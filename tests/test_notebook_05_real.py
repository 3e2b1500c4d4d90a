"""05_running_stable_diffusion on the real-SD code path: tiny sd15, sd15-inpaint and CLIP offline."""

from __future__ import annotations

from real_backend import run_with_real_backend
from test_clip_score import tiny_clip

from conftest import snapshot_dir


def add_tiny_clip(cache, monkeypatch) -> None:
    """Put a tiny CLIP into the offline hub cache under the registry's CLIP id; forget loaded ones."""
    import importlib

    from helpers.core.registry import REGISTRY

    clip_module = importlib.import_module("helpers.prompting.clip_score")  # helpers.clip_score is the function
    folder = snapshot_dir(cache, REGISTRY["clip-vit-b32"].hub_id)
    model, processor = tiny_clip()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    monkeypatch.setattr(clip_module, "_CLIP", {})


def test_notebook_05_runs_on_real_sd15_with_clip_scores(offline_hub, monkeypatch):
    add_tiny_clip(offline_hub, monkeypatch)
    ns = run_with_real_backend("05_running_stable_diffusion.ipynb", monkeypatch)
    assert ns["model"] == "sd15" and ns["metric"].startswith("CLIP")
    assert type(ns["inpaint"]).__name__ == "StableDiffusionInpaintPipeline"
    assert ns["inpaint"].unet.config.in_channels == 9  # the real inpainting model, not from_pipe
    assert all(0 <= r["adherence"] <= 100 for r in ns["by_scale"].values())
    assert set(ns["by_scheduler"]) == {"DDIM", "Euler", "Euler a", "DPM++ 2M", "UniPC"}
    assert type(ns["pipe"].scheduler).__name__ == "PNDMScheduler"  # restored after the comparison
    assert ns["changed_outside"] < ns["changed_inside"]
    assert "attention slicing" in ns["speed"]
