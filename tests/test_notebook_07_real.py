"""07_failure_cases on the real-SD code path: tiny sd15 and sd15-inpaint from the offline hub cache.

The measured sections always use the bundled mini-sd (loaded by name), so they run as on a CPU;
the seed grids, the SD 1.5 attention maps and the hand inpainting run on the tiny real weights.
"""

from __future__ import annotations

from real_backend import run_with_real_backend


def test_notebook_07_runs_on_real_sd15(offline_hub, monkeypatch):
    ns = run_with_real_backend("07_failure_cases.ipynb", monkeypatch)
    assert ns["model"] == "sd15"
    assert type(ns["pipe"]).__name__ == "StableDiffusionPipeline" and ns["pipe"] is not ns["mini"]
    assert set(ns["gallery"]) == {"hands", "text", "counting", "binding"}
    assert all(len(v) == ns["k_grid"] for v in ns["gallery"].values())
    # SD 1.5's attention maps, drawn with the same helper as the mini model's
    assert ns["real_maps"].shape == (ns["pipe"].tokenizer.model_max_length, ns["side"], ns["side"])
    assert ns["real_words"] == ["red", "cube"]  # the tiny letter tokenizer cuts off "blue sphere"
    assert ns["real_inpaint"].unet.config.in_channels == 9  # the real inpainting model
    assert len(ns["fixed"]) == 2 and ns["fixed"][0].size == (ns["side"], ns["side"])
    # processors are back to what the pipelines had
    assert all(type(p).__name__ != "CrossAttentionCapture" for p in ns["pipe"].unet.attn_processors.values())
    assert all(type(p).__name__ != "CrossAttentionCapture" for p in ns["mini"].unet.attn_processors.values())
    assert ns["fixes"] and 0 <= ns["outcomes"]["two objects"] <= 1
