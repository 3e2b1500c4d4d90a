"""The model registry: the right repos, none of the deleted ones, and no hub id in a notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.core.config import BUNDLED_MODEL_DIR
from helpers.core.registry import REGISTRY, TASKS, get_model, hub_ids

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_registry_holds_the_expected_repos():
    expected = {
        "sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
        "sd15-inpaint": "stable-diffusion-v1-5/stable-diffusion-inpainting",
        "controlnet-openpose": "lllyasviel/control_v11p_sd15_openpose",
        "controlnet-canny": "lllyasviel/control_v11p_sd15_canny",
        "lcm-lora-sd15": "latent-consistency/lcm-lora-sdv1-5",
        "instruct-pix2pix": "timbrooks/instruct-pix2pix",
        "clip-vit-b32": "openai/clip-vit-base-patch32",
    }
    assert {key: REGISTRY[key].hub_id for key in expected} == expected
    assert REGISTRY["mini-sd"].hub_id is None
    assert Path(REGISTRY["mini-sd"].local_dir) == BUNDLED_MODEL_DIR


def test_no_deleted_or_sd2_repos():
    for hub_id in hub_ids():
        lowered = hub_id.lower()
        assert not lowered.startswith("runwayml/"), hub_id
        assert not re.match(r"stabilityai/stable-diffusion-2", lowered), hub_id
        assert "sd-turbo" not in lowered or lowered == "stabilityai/sdxl-turbo", hub_id


def test_entries_are_consistent():
    for key, entry in REGISTRY.items():
        assert entry.key == key
        assert (entry.hub_id is None) != (entry.local_dir is None), key
        assert entry.tasks and entry.licence and entry.notes, key
        if entry.kind == "pipeline":
            assert set(entry.tasks) <= set(TASKS), key
            assert entry.steps > 0, key
    assert REGISTRY["lcm-lora-sd15"].steps <= 8  # the fast live-demo option


def test_get_model_unknown_lists_keys():
    with pytest.raises(ValueError, match="Known models: clip-vit-b32, controlnet-canny"):
        get_model("runwayml")


def test_no_notebook_names_a_hub_id():
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    ids = hub_ids()
    for path in notebooks:
        text = "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
        for hub_id in ids + ["runwayml/", "stabilityai/"]:
            assert hub_id not in text, f"{path.name} names {hub_id}; use a helpers.REGISTRY key"
