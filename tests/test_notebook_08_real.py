"""08_controlnet on the real-SD code path: tiny sd15 with tiny openpose and canny ControlNets, offline."""

from __future__ import annotations

import shutil

from real_backend import run_with_real_backend

from conftest import build_tiny_controlnet, point_hub_at, save_with_fp16_variant, snapshot_dir


def test_notebook_08_runs_on_real_sd15_with_openpose_and_canny(hub_cache_dir, tmp_path, monkeypatch):
    from helpers.core.registry import REGISTRY

    cache = tmp_path / "hub"
    shutil.copytree(hub_cache_dir, cache)  # the shared cache has no canny model; this copy does
    save_with_fp16_variant(build_tiny_controlnet(seed=1),
                           snapshot_dir(cache, REGISTRY["controlnet-canny"].hub_id))
    point_hub_at(monkeypatch, cache)
    ns = run_with_real_backend("08_controlnet.ipynb", monkeypatch)
    assert ns["model"] == "sd15"
    assert type(ns["pipe"]).__name__ == "StableDiffusionControlNetPipeline"
    assert type(ns["canny_pipe"].controlnet).__name__ == "ControlNetModel"
    assert ns["canny_pipe"].controlnet is not ns["pipe"].controlnet
    assert len(ns["scale_images"]) == 2 and ns["winter"].size == ns["base"].size
    assert ns["free_iou"] is None  # no Shapes reader for real photos
