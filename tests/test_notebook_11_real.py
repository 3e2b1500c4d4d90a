"""11_flow_matching on the real-SD 3 code path (tiny SD 3.5 Medium-shaped weights from the offline hub)."""

from __future__ import annotations

from real_backend import run_with_real_backend


def test_notebook_11_runs_on_sd35_without_t5_and_its_loop_equals_the_pipeline(offline_hub, monkeypatch):
    ns = run_with_real_backend("11_flow_matching.ipynb", monkeypatch)
    assert ns["model"] == "sd35-medium" and ns["real_sd"] and ns["side"] == 512
    pipe = ns["pipe"]
    assert type(pipe).__name__ == "StableDiffusion3Pipeline" and pipe.text_encoder_3 is None
    assert pipe.vae.config.latent_channels == 16 and pipe.scheduler.config.shift == 3.0
    assert ns["image_tokens"] == (512 // 8 // 2) ** 2  # 2x2 patches of a 64x64 latent
    assert ns["difference"].max() <= 2  # the hand-written loop equals the pipeline
    assert len(ns["grid"]) == len(ns["few_steps"]) * len(ns["showcase"])
    assert all(im.size == (512, 512) for im in ns["grid"])
