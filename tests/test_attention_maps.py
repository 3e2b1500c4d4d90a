"""helpers.prompting.attention_maps: capture cross-attention on a tiny random UNet, a tiny pipeline and mini-sd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import build_tiny_pipeline
from helpers.prompting.attention_maps import (
    AttentionStore,
    attention_overlay,
    capture_cross_attention,
    cross_attention_names,
    mass_share,
    prompt_tokens,
    word_map,
    word_positions,
)


@pytest.fixture(scope="module")
def tiny_pipe():
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def unet_inputs(unet, batch=2, tokens=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    size = unet.config.sample_size
    sample = torch.randn(batch, unet.config.in_channels, size, size, generator=g)
    context = torch.randn(batch, tokens, unet.config.cross_attention_dim, generator=g)
    return sample, context


def test_capture_on_random_unet_gives_maps_that_sum_to_one_and_same_output(tiny_pipe):
    unet = tiny_pipe.unet
    sample, context = unet_inputs(unet)
    with torch.no_grad():
        plain = unet(sample, 500, encoder_hidden_states=context).sample
        with capture_cross_attention(unet) as store:
            captured = unet(sample, 500, encoder_hidden_states=context).sample
    assert torch.allclose(plain, captured, atol=1e-5)  # the processor computes ordinary attention
    maps = store.maps()
    assert maps.shape == (2, 16, 8, 8)  # (pictures, tokens, latent H, latent W)
    assert torch.allclose(maps.sum(1), torch.ones(2, 8, 8), atol=1e-5)  # softmax over tokens
    assert store.resolutions() == [4]  # the tiny UNet has cross-attention only at 4x4
    upsampled = store.maps(size=32)
    assert upsampled.shape == (2, 16, 32, 32)
    assert torch.allclose(upsampled.sum(1), torch.ones(2, 32, 32), atol=1e-5)


def test_processors_are_restored_even_after_an_error(tiny_pipe):
    unet = tiny_pipe.unet
    before = dict(unet.attn_processors)
    names = cross_attention_names(unet)
    assert names and all(n.endswith("attn2.processor") for n in names)
    with pytest.raises(RuntimeError, match="boom"):
        with capture_cross_attention(unet):
            during = unet.attn_processors
            assert all(type(during[n]).__name__ == "CrossAttentionCapture" for n in names)
            assert all(during[n] is before[n] for n in before if n not in names)  # attn1 untouched
            raise RuntimeError("boom")
    after = unet.attn_processors
    assert after.keys() == before.keys()
    assert all(after[n] is before[n] for n in before)
    assert not unet._forward_pre_hooks  # the hook that watches timesteps is gone too


def test_pipeline_with_guidance_keeps_the_conditional_half_and_splits_runs(tiny_pipe):
    from helpers import generate

    prompts = ["a red cube", "a blue ball", "a cat"]
    with capture_cross_attention(tiny_pipe) as store:
        generate(tiny_pipe, prompts, steps=3, guidance=5.0, seed=0, batch=2)  # two pipeline calls
    assert len(store.runs) == 2
    maps = store.maps(size=16)
    assert maps.shape == (3, tiny_pipe.tokenizer.model_max_length, 16, 16)
    assert torch.allclose(maps.sum(1), torch.ones(3, 16, 16), atol=1e-5)
    with capture_cross_attention(tiny_pipe) as unguided:
        generate(tiny_pipe, prompts[:1], steps=3, guidance=1.0, seed=0)
    assert unguided.maps().shape[0] == 1
    # the conditional half is what is kept: with guidance, picture 0's maps match a run
    # whose uncond half is different (a negative prompt) only if the cond half is kept
    with capture_cross_attention(tiny_pipe) as neg:
        generate(tiny_pipe, prompts[:1], steps=1, guidance=5.0, seed=0, negative_prompt="zzz")
    with capture_cross_attention(tiny_pipe) as plain:
        generate(tiny_pipe, prompts[:1], steps=1, guidance=5.0, seed=0)
    assert torch.allclose(neg.maps(), plain.maps(), atol=1e-5)


def test_resolution_filter_and_errors(tiny_pipe):
    with capture_cross_attention(tiny_pipe) as store:
        pass
    with pytest.raises(ValueError, match="no cross-attention was recorded"):
        store.maps()
    sample, context = unet_inputs(tiny_pipe.unet, batch=1)
    with torch.no_grad(), capture_cross_attention(tiny_pipe.unet) as store:
        tiny_pipe.unet(sample, 10, encoder_hidden_states=context)
    assert store.maps(resolutions=[4]).shape == (1, 16, 8, 8)
    with pytest.raises(ValueError, match="heights: \\[4\\]"):
        store.maps(resolutions=[16])
    with pytest.raises(ValueError, match="pipeline or UNet2DConditionModel"):
        with capture_cross_attention(object()):
            pass


def test_runs_split_when_the_timestep_stops_falling():
    store = AttentionStore()
    latent = torch.zeros(1, 4, 8, 8)
    probs = torch.full((2, 16, 3), 1 / 3)  # batch 1 x 2 heads, 4x4 pixels, 3 tokens
    for t in (900, 500, 500, 100, 900, 100):  # PNDM repeats a timestep inside a run
        store.start_step(latent, torch.tensor(t))
        store.add(probs, heads=2)
    assert len(store.runs) == 2 and [run[4, 4][1] for run in store.runs] == [4, 2]
    assert store.steps == [4, 2]
    assert store.maps().shape == (2, 3, 8, 8)
    with pytest.raises(ValueError, match="does not fit"):
        store.add(torch.full((2, 15, 3), 1 / 3), heads=2)


def test_word_positions_follow_the_tokenizer_and_truncation(tiny_pipe):
    tok = tiny_pipe.tokenizer  # letters only, 16 places: start + 14 + end
    prompt = "a red cube on top of a blue sphere"
    positions = dict(word_positions(tok, prompt)[:3])
    assert positions == {"a": [1], "red": [2, 3, 4], "cube": [5, 6, 7, 8]}
    kept = [w for w, _ in word_positions(tok, prompt)]
    assert "blue" not in kept and "sphere" not in kept  # cut off by the 16-token limit
    tokens = prompt_tokens(tok, prompt)
    assert len(tokens) == tok.model_max_length and tokens[0] == "<|startoftext|>"
    assert tokens[2:5] == ["r", "e", "d</w>"]
    maps = torch.rand(tok.model_max_length, 4, 4)
    assert torch.allclose(word_map(maps, tok, prompt, "red"), maps[2:5].sum(0))
    assert torch.allclose(word_map(maps, tok, prompt, "of"), maps[14])  # its "f" was cut off
    with pytest.raises(ValueError, match="'blue' .* not among"):
        word_map(maps, tok, prompt, "blue")
    with pytest.raises(ValueError, match="'a' \\(occurrence 1\\)"):
        word_map(maps, tok, prompt, "a", occurrence=1)
    two = "ab ab"
    assert word_positions(tok, two) == [("ab", [1, 2]), ("ab", [3, 4])]
    assert torch.allclose(word_map(maps, tok, two, "ab", occurrence=1), maps[3:5].sum(0))
    with pytest.raises(ValueError, match="one picture's"):
        word_map(maps[None], tok, prompt, "red")


def test_mass_share_and_overlay():
    heat = np.zeros((4, 4))
    heat[:2] = 3.0
    heat[2:] = 1.0
    mask = np.zeros((4, 4), dtype=bool)
    mask[:2] = True
    assert mass_share(heat, mask) == pytest.approx(0.75)
    assert mass_share(np.ones((4, 4)), mask) == pytest.approx(mask.mean())
    with pytest.raises(ValueError, match="same shape"):
        mass_share(heat, mask[:2])
    with pytest.raises(ValueError, match="no mass"):
        mass_share(np.zeros((4, 4)), mask)
    image = Image.new("RGB", (32, 32), (0, 0, 255))
    shown = attention_overlay(image, heat, alpha=0.5)
    assert shown.size == (32, 32) and shown.mode == "RGB"
    top, bottom = np.asarray(shown)[2, 16].astype(int), np.asarray(shown)[30, 16].astype(int)
    assert top.sum() > bottom.sum()  # the hot half is drawn brighter
    assert np.array_equal(np.asarray(attention_overlay(image, heat, alpha=0.0)), np.asarray(image))
    with pytest.raises(ValueError, match="alpha"):
        attention_overlay(image, heat, alpha=2)


def test_mini_sd_colour_word_looks_at_the_object():
    """On the bundled model the colour word's attention concentrates on the object it names."""
    import helpers
    from helpers import shapes
    from helpers.prompting.two_objects import object_mask

    pipe = helpers.load_pipeline("text2img", model="mini-sd", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    items = [shapes.Shape("circle", "small", "red", "left", "blue"),
             shapes.Shape("square", "small", "yellow", "right", "black"),
             shapes.Shape("triangle", "small", "white", "top", "green"),
             shapes.Shape("circle", "small", "orange", "bottom", "purple")]
    prompts = [shapes.caption(item) for item in items]
    with capture_cross_attention(pipe) as store:
        images = helpers.generate(pipe, prompts, steps=10, guidance=5.0, seed=0)
    maps = store.maps(size=64)
    for prompt, image, item, m in zip(prompts, images, items, maps, strict=True):
        mask = object_mask(image)
        share = mass_share(word_map(m, pipe.tokenizer, prompt, item.color).numpy(), mask)
        assert share > 1.2 * mask.mean(), (prompt, share, mask.mean())


def test_one_step_runs_at_the_same_timestep_are_kept_apart(tiny_pipe):
    from diffusers import DDIMScheduler

    from helpers import generate

    original = tiny_pipe.scheduler
    tiny_pipe.scheduler = DDIMScheduler.from_config(original.config)
    try:
        with capture_cross_attention(tiny_pipe) as store:
            generate(tiny_pipe, ["a", "b", "c"], steps=1, guidance=5.0, seed=0, batch=1)
    finally:
        tiny_pipe.scheduler = original
    assert store.steps == [1, 1, 1] and store.maps().shape[0] == 3
