"""SD 1.5's real architecture (data/sd15-architecture/) and the T4 costs made from it (data/t4_costs.json)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


arch = _tool("sd15_architecture")


@pytest.mark.parametrize("name", arch.COMPONENTS)
def test_each_component_names_its_source_and_matches_any_published_count(name):
    record = arch.spec(name)
    assert record["hub_config"].startswith("https://huggingface.co/") and record["values_from"]
    built = arch.parameters(arch.build(name, "meta"))
    if record["published_parameters"] is not None:
        assert built == record["published_parameters"]


def test_parameter_counts_are_sd15s():
    count = {name: arch.parameters(arch.build(name, "meta")) for name in arch.COMPONENTS}
    assert (count["unet"], count["vae"], count["text_encoder"]) == (859_520_964, 83_653_863, 123_060_480)
    assert count["unet_inpaint"] - count["unet"] == 5 * 320 * 3 * 3  # 5 more input channels into conv_in
    assert count["unet_instruct_pix2pix"] - count["unet"] == 4 * 320 * 3 * 3
    assert count["controlnet"] == 361_279_120
    assert abs(count["controlnet"] * 2 / 723e6 - 1) < 0.005  # the hub's fp16 file is 723 MB
    assert count["clip_vit_b32"] == 151_277_313


def test_controlnet_config_file_builds_what_from_unet_builds():
    import torch
    from diffusers import ControlNetModel

    with torch.device("meta"):
        from_file = ControlNetModel(**arch.spec("controlnet")["config"])
    assert arch.parameters(from_file) == arch.parameters(arch.build("controlnet", "meta"))


def test_t4_costs_is_what_the_tool_writes_from_the_rehearsal():
    costs_tool = _tool("t4_costs")
    rehearsal = json.loads(costs_tool.REHEARSAL.read_text())
    written = json.loads(costs_tool.COSTS.read_text())
    assert written == json.loads(json.dumps(costs_tool.costs(rehearsal), ensure_ascii=False)), (
        "data/t4_costs.json is out of step with data/rehearsal_sd15.json: run python tools/t4_costs.py")


def test_t4_costs_has_every_unit_with_its_numbers():
    costs = json.loads((ROOT / "data" / "t4_costs.json").read_text())
    for key in ("method", "sources", "measured", "cuda_overhead_gib", "weights_gib_fp16", "units", "scaling"):
        assert costs[key], key
    assert all(source["id"] and source["what"] and source["url"] for source in costs["sources"])
    for unit in ("text_encode", "unet_eval", "unet_inpaint_eval", "controlnet_eval", "vae_decode", "vae_encode",
                 "clip_score", "safety_check", "unet_instruct_eval", "unet_train_step"):
        row = costs["units"][unit]
        assert row["t4_seconds"] > 0 and row["activation_gib"] > 0 and row["flops"] > 0, unit
    # one guided SD 1.5 step (2 latents) costs what diffusers' T4 benchmark says: 6.9 it/s
    assert 2 * costs["units"]["unet_eval"]["t4_seconds"] == pytest.approx(1 / 6.9, rel=1e-3)
    assert costs["weights_gib_fp16"]["sd15"] == pytest.approx(1_066_235_307 * 2 / 2**30, abs=1e-3)
