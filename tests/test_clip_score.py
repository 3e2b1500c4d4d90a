"""clip_score on a tiny random CLIP: the number is 100 x the clamped cosine of the embeddings."""

from __future__ import annotations

import string

import pytest
import torch
from PIL import Image


def tiny_clip(seed: int = 0):
    """Return a random-weight (CLIPModel, CLIPProcessor) pair that runs in milliseconds."""
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    torch.manual_seed(seed)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits + ".,!?'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37,
                         num_hidden_layers=1, num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                           num_attention_heads=4, image_size=32, patch_size=8),
        projection_dim=16,
    )
    processor = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                           crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
    )
    return CLIPModel(config).eval(), processor


def pictures():
    return [Image.new("RGB", (48, 48), c) for c in ((220, 40, 40), (40, 90, 220))]


def test_clip_score_is_the_clamped_cosine_times_100():
    from helpers.prompting.clip_score import clip_score

    model, processor = tiny_clip()
    prompts = ["a red square", "a blue square"]
    score = clip_score(pictures(), prompts, model=model, processor=processor)
    inputs = processor(text=prompts, images=pictures(), return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**inputs)
    cos = torch.nn.functional.cosine_similarity(out.image_embeds, out.text_embeds)
    assert score == pytest.approx(float((100 * cos.clamp(min=0)).mean()), abs=1e-4)
    assert 0.0 <= score <= 100.0
    single = clip_score(pictures()[:1], prompts[:1], model=model, processor=processor)
    assert single == pytest.approx(float(100 * cos[0].clamp(min=0)), abs=1e-4)


def test_clip_score_checks_its_inputs():
    from helpers.prompting.clip_score import clip_score

    model, processor = tiny_clip()
    with pytest.raises(ValueError, match="2 images but 1 prompts"):
        clip_score(pictures(), ["x"], model=model, processor=processor)
    with pytest.raises(ValueError, match="at least one"):
        clip_score([], [], model=model, processor=processor)
