"""The mini Stable Diffusion 3: its parts, its training script on a tiny config, the shipped model."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

import helpers
import helpers.core.loading
from helpers.core.config import BUNDLED_SD3_DIR
from helpers.core.registry import REGISTRY
from helpers.training.loop import tokenize
from helpers.training.train_mini_sd3 import encode_captions, main


@pytest.fixture(scope="module")
def tiny_sd3(tmp_path_factory):
    """A tiny mini-sd3 trained for 3 steps (and its work folder), on mini-sd's VAE and tokenizer."""
    root = tmp_path_factory.mktemp("mini-sd3")
    out, work = root / "model", root / "work"
    summary = main(["--preset", "tiny", "--out", str(out), "--work", str(work)])
    return out, work, summary


def test_tiny_run_saves_safetensors_without_a_t5_and_resumes(tiny_sd3, capsys):
    out, work, summary = tiny_sd3
    assert summary["transformer"]["steps"] == 3
    files = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert ".safetensors" in files and ".bin" not in files
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == "StableDiffusion3Pipeline"
    assert index["text_encoder_3"] == [None, None] and index["transformer"][1] == "SD3Transformer2DModel"
    capsys.readouterr()
    longer = main(["--preset", "tiny", "--out", str(out), "--work", str(work), "--steps", "5"])
    assert "resuming transformer from step 3" in capsys.readouterr().out
    assert longer["transformer"]["steps"] == 5 and longer["transformer"]["extended_from"] == 3


def test_training_encodes_captions_exactly_as_the_pipeline_does(tiny_sd3):
    from diffusers import StableDiffusion3Pipeline

    pipe = StableDiffusion3Pipeline.from_pretrained(tiny_sd3[0], local_files_only=True,
                                                    text_encoder_3=None, tokenizer_3=None)
    captions = ["a red circle", "파란 배경 왼쪽에 작은 초록 네모", ""]
    embeds, _, pooled, _ = pipe.encode_prompt(captions, None, None, do_classifier_free_guidance=False,
                                              max_sequence_length=pipe.tokenizer.model_max_length)
    ours, ours_pooled = encode_captions([pipe.text_encoder, pipe.text_encoder_2],
                                        tokenize(pipe.tokenizer, captions, "cpu"),
                                        pipe.tokenizer.model_max_length,
                                        pipe.transformer.config.joint_attention_dim)
    assert torch.equal(embeds, ours) and torch.equal(pooled, ours_pooled)


def test_load_pipeline_and_generate_pass_the_trained_number_of_zero_t5_tokens(tiny_sd3, monkeypatch):
    entry = dataclasses.replace(REGISTRY["mini-sd3"], local_dir=str(tiny_sd3[0]))
    monkeypatch.setitem(REGISTRY, "mini-sd3", entry)
    helpers.clear_cache()
    pipe = helpers.load_pipeline("text2img", family="sd3", device="cpu")
    assert type(pipe).__name__ == "StableDiffusion3Pipeline" and pipe.text_encoder_3 is None
    seen = {}
    original = pipe.transformer.forward

    def spy(*args, **kwargs):
        seen["text_tokens"] = kwargs["encoder_hidden_states"].shape[1]
        return original(*args, **kwargs)

    monkeypatch.setattr(pipe.transformer, "forward", spy)
    images = helpers.generate(pipe, ["a red circle", "a blue square"], steps=2, guidance=3.0, cache=False)
    assert [im.size for im in images] == [(64, 64)] * 2
    assert seen["text_tokens"] == 2 * pipe.tokenizer.model_max_length  # CLIP tokens + as many zero "T5"
    helpers.clear_cache()


def test_sd3_family_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="does not do 'img2img'"):
        helpers.load_pipeline("img2img", model="mini-sd3", device="cpu")
    with pytest.raises(ValueError, match="unknown family"):
        helpers.choose_backend("cpu", family="sdxl")
    assert helpers.choose_backend("cpu", family="sd3") == ("mini-sd3", "bundled mini-sd3: no CUDA GPU")


@pytest.mark.skipif(not (BUNDLED_SD3_DIR / "model_index.json").exists(), reason="mini-sd3 is not built")
def test_the_shipped_model_follows_its_prompts_at_its_recommended_setting():
    from helpers.shapes.captions import random_captions

    pipe = helpers.load_pipeline("text2img", model="mini-sd3", device="cpu")
    entry = REGISTRY["mini-sd3"]
    captions = random_captions(16, seed=99)
    images = helpers.generate(pipe, captions, steps=entry.steps, guidance=entry.guidance, cache=False)
    scores = helpers.adherence(captions, images)
    comparison = json.loads((BUNDLED_SD3_DIR / "comparison.json").read_text())
    card_row = next(r for r in comparison["grid"] if r["model"] == "mini-sd3" and r["steps"] == entry.steps
                    and r["guidance"] == entry.guidance)
    assert scores["all"] >= card_row["all"] - 0.15, (scores, card_row)  # 16 captions vs the card's 200
    card = (BUNDLED_SD3_DIR / "README.md").read_text()
    assert "python -m helpers.training.train_mini_sd3" in card and comparison["summary"] in card
