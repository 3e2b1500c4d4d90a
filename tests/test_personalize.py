"""Textual inversion and LoRA (09) on a tiny random-weight pipeline: what trains, what stays, save and load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import helpers
from conftest import build_tiny_pipeline
from helpers import shapes
from helpers.editing import personalize
from helpers.shapes.hexagons import Hexagon, hexagon_caption, render_hexagon


@pytest.fixture
def tiny():
    pipe = build_tiny_pipeline(seed=0)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pictures(pipe, prompts):
    return helpers.generate(pipe, prompts, steps=3, guidance=2.0, seed=0)


def same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


def test_training_and_test_sets():
    train = personalize.hexagon_training_set(48)
    assert len(set(train)) == 48 and all(item.size == "large" for item in train)
    assert [item.color for item in train[:6]] == list(personalize.TRAIN_COLORS)
    assert {item.position for item in train} <= set(personalize.TRAIN_POSITIONS)
    assert personalize.hexagon_training_set(48) == train
    test = personalize.unseen_hexagons(30, train)
    assert len(test) == 30 and not set(test) & set(train)
    with pytest.raises(ValueError):
        personalize.hexagon_training_set(10_000)


def test_add_token_starts_from_a_word(tiny):
    table_before = tiny.text_encoder.get_input_embeddings().weight.detach().clone()
    token_id = personalize.add_token(tiny, "<hexagon>", init_word="c")
    table = tiny.text_encoder.get_input_embeddings().weight
    assert token_id == len(table_before) and table.shape[0] == len(table_before) + 1
    assert torch.equal(table[token_id], table[tiny.tokenizer("c", add_special_tokens=False).input_ids[0]])
    assert torch.equal(table[:token_id], table_before)
    assert tiny.tokenizer.tokenize("a <hexagon>")[-1] == "<hexagon>"
    with pytest.raises(ValueError, match="already"):
        personalize.add_token(tiny, "<hexagon>")
    with pytest.raises(ValueError, match="exactly one"):
        personalize.add_token(tiny, "<other>", init_word="circle")  # letters in the tiny tokenizer


def test_add_token_random_start_has_a_typical_length(tiny):
    token_id = personalize.add_token(tiny, "<new>", seed=3)
    table = tiny.text_encoder.get_input_embeddings().weight
    typical = table[:token_id].norm(dim=1).mean()
    assert torch.isclose(table[token_id].norm(), typical, rtol=1e-4)


def test_concept_data_batches(tiny):
    items = personalize.hexagon_training_set(6)
    data = personalize.ConceptData(tiny, items, "sks", prior_share=0.5, prior_pictures=10)
    latents, captions = data.batch(8)
    assert latents.shape == (8, 4, 8, 8) and len(captions) == 8
    assert all("sks" in c for c in captions[:4])
    assert not any("sks" in c for c in captions[4:])
    assert data.pictures[0].size == (16, 16)
    plain = personalize.ConceptData(tiny, [shapes.Shape("triangle", "small", "yellow", "top", "blue")], "<t>")
    assert all("<t>" in c and "triangle" not in c for c in plain.batch(5)[1])
    with pytest.raises(ValueError):
        personalize.ConceptData(tiny, [], "sks")
    with pytest.raises(ValueError):
        data.batch(0)


def test_denoising_loss_is_seeded(tiny):
    data = personalize.ConceptData(tiny, personalize.hexagon_training_set(4), "sks")
    latents, captions = data.batch(4)
    a = personalize.denoising_loss(tiny, latents, captions, torch.Generator().manual_seed(1))
    b = personalize.denoising_loss(tiny, latents, captions, torch.Generator().manual_seed(1))
    assert a.ndim == 0 and torch.isfinite(a) and a.item() == b.item()


def test_textual_inversion_trains_only_the_new_row_and_round_trips(tiny, tmp_path):
    prompts = ["a red circle", "a blue square"]
    before = pictures(tiny, prompts)
    token_id = personalize.add_token(tiny, "<hexagon>", init_word="c")
    table = tiny.text_encoder.get_input_embeddings().weight
    original = table.detach().clone()

    def keep_old_rows():
        with torch.no_grad():
            table[:token_id] = original[:token_id]

    data = personalize.ConceptData(tiny, personalize.hexagon_training_set(4), "<hexagon>")
    record = personalize.train_concept(tiny, data, [table], steps=3, lr=1e-2, batch=2, after_step=keep_old_rows)
    assert len(record["losses"]) == 3 and record["seconds_per_step"] > 0
    assert torch.equal(table[:token_id], original[:token_id])
    assert not torch.equal(table[token_id], original[token_id])
    assert same(before, pictures(tiny, prompts))  # prompts without the token: unchanged

    path = personalize.save_embedding(tiny, "<hexagon>", tmp_path / "hexagon.safetensors")
    fresh = build_tiny_pipeline(seed=0)
    fresh.set_progress_bar_config(disable=True)
    fresh.load_textual_inversion(str(path), token="<hexagon>")
    new = ["a red <hexagon>", "a <hexagon> at the top"]
    assert same(pictures(tiny, new), pictures(fresh, new))
    with pytest.raises(ValueError, match="not in the tokenizer"):
        personalize.save_embedding(fresh, "<missing>", tmp_path / "x.safetensors")


def test_lora_counts_trains_saves_loads_and_scales(tiny, tmp_path):
    prompts = ["a red sks", "a sks at the left"]
    before = pictures(tiny, prompts)
    params = personalize.add_lora(tiny, rank=2)
    expected = 0
    for name, module in tiny.unet.named_modules():
        if name.endswith(("to_q", "to_k", "to_v", "to_out.0")) and hasattr(module, "base_layer"):
            expected += 2 * (module.base_layer.in_features + module.base_layer.out_features)
    assert personalize.count(params) == expected > 0
    assert all(p.dtype == torch.float32 for p in params)
    assert same(before, pictures(tiny, prompts))  # B starts at zero: no change yet
    frozen = {n: p.detach().clone() for n, p in tiny.unet.named_parameters() if "lora_" not in n}

    data = personalize.ConceptData(tiny, personalize.hexagon_training_set(4), "sks", prior_share=0.5,
                                   prior_pictures=8)
    personalize.train_concept(tiny, data, params, steps=3, lr=1e-2, batch=4)
    assert all(torch.equal(p, frozen[n]) for n, p in tiny.unet.named_parameters() if "lora_" not in n)
    trained = pictures(tiny, prompts)
    assert not same(before, trained)

    path = personalize.save_lora(tiny, tmp_path / "lora")
    assert path.name == "pytorch_lora_weights.safetensors" and path.exists()
    fresh = build_tiny_pipeline(seed=0)
    fresh.set_progress_bar_config(disable=True)
    fresh.load_lora_weights(str(path.parent), adapter_name="hexagon")
    loaded = pictures(fresh, prompts)
    assert max(np.abs(np.asarray(a, int) - np.asarray(b, int)).max() for a, b in zip(loaded, trained, strict=True)) <= 1
    fresh.set_adapters(["hexagon"], adapter_weights=[0.0])
    assert same(before, pictures(fresh, prompts))


def test_lora_weights_are_the_adapter_alone_and_load_into_it(tiny):
    """09 checkpoints a LoRA through lora_weights: loading it must change the UNet's adapter."""
    with pytest.raises(ValueError, match="no LoRA adapter"):
        personalize.lora_weights(tiny)
    params = personalize.add_lora(tiny, rank=2)
    part = personalize.lora_weights(tiny)
    assert personalize.count(part.parameters()) == personalize.count(params)
    assert all("lora_" in key for key in part.state_dict())
    assert {id(p) for p in part.parameters()} == {id(p) for p in params}
    trained = {key: torch.randn_like(value) for key, value in part.state_dict().items()}
    part.load_state_dict(trained)
    named = dict(tiny.unet.named_parameters())
    assert all(torch.equal(named[key.replace("/", ".")], value) for key, value in trained.items())


def test_train_concept_refuses_bad_arguments(tiny):
    data = personalize.ConceptData(tiny, personalize.hexagon_training_set(2), "sks")
    with pytest.raises(ValueError, match="nothing to train"):
        personalize.train_concept(tiny, data, [], steps=1, lr=1e-3)
    with pytest.raises(ValueError):
        personalize.add_lora(tiny, rank=0)


def test_train_concept_refuses_float16_parameters(tiny):
    """On a Colab GPU, float16 weights under float16 mixed precision crash torch's grad scaler
    ('Attempting to unscale FP16 gradients'); the workbook says what to do instead."""
    data = personalize.ConceptData(tiny, personalize.hexagon_training_set(2), "sks")
    table = tiny.text_encoder.get_input_embeddings().weight
    with pytest.raises(ValueError, match="float16.*float32"):
        personalize.train_concept(tiny, data, [torch.nn.Parameter(table.detach().half())], steps=1,
                                  lr=1e-3)


def test_hexagon_scores_on_rendered_pictures():
    items = [Hexagon("large", "red", "left", "white"), Hexagon("large", "blue", "top", "yellow")]
    scores = personalize.hexagon_scores(items, [render_hexagon(i) for i in items])
    assert scores == {"hexagon": 1.0, "color": 1.0, "position": 1.0, "background": 1.0, "all": 1.0}
    circle = shapes.render(shapes.Shape("circle", "large", "red", "left", "white"))
    half = personalize.hexagon_scores(items, [circle, render_hexagon(items[1])])
    assert half["hexagon"] == 0.5 and half["color"] == 1.0 and half["all"] == 0.5
    assert hexagon_caption(items[0], "sks") == "a large red sks at the left on a white background"
