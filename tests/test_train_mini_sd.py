"""The mini Stable Diffusion's parts and training script, on a tiny config."""

import json

import torch
from transformers import CLIPTokenizer

from helpers.training.mini_sd import TOKENIZER_WORDS, MiniSDConfig, build_tokenizer
from helpers.training.train_mini_sd import main
from helpers.training.word_tokenizer import build_tokenizer as build_word_tokenizer
from helpers.training.word_tokenizer import word_merges


def test_every_caption_word_is_one_token_and_other_words_still_tokenize(tmp_path):
    tokenizer = build_tokenizer(MiniSDConfig())
    for word in TOKENIZER_WORDS:
        assert len(tokenizer.tokenize(word)) == 1, (word, tokenizer.tokenize(word))
    assert len(tokenizer.tokenize("hexagon")) > 1
    ids = tokenizer("a large red circle at the center on a blue background").input_ids
    assert len(ids) == 11 + 2
    tokenizer.save_pretrained(tmp_path)
    again = CLIPTokenizer.from_pretrained(tmp_path)
    assert again("a red person").input_ids == tokenizer("a red person").input_ids
    assert again.model_max_length == MiniSDConfig().max_length


def test_korean_caption_words_are_one_token_each_and_other_hangul_is_not_lost():
    # CLIP's BPE sees UTF-8 bytes: a Hangul syllable is three byte characters, so Korean words
    # need merges over bytes, and an unknown word must fall back to bytes, never to the unknown
    # token (which would make a Korean prompt silently the empty prompt).
    tokenizer = build_tokenizer(MiniSDConfig())
    ids = tokenizer("파란 배경 가운데에 큰 빨간 원").input_ids
    assert len(ids) == 6 + 2
    assert tokenizer.decode(ids, skip_special_tokens=True) == "파란 배경 가운데에 큰 빨간 원"
    unknown = tokenizer("육각형").input_ids[1:-1]
    assert len(unknown) > 1 and tokenizer.eos_token_id not in unknown
    assert tokenizer.decode(tokenizer("육각형").input_ids, skip_special_tokens=True) == "육각형"


def test_the_tokenizer_says_which_words_its_model_learned(tmp_path):
    """helpers.generate warns about words outside this list (helpers.core.prompt_words)."""
    from helpers.core.prompt_words import learned_words
    from helpers.training.mini_sd import CAPTION_WORDS

    bilingual = build_tokenizer(MiniSDConfig())
    assert learned_words(bilingual) == {w.lower() for w in TOKENIZER_WORDS}
    bilingual.save_pretrained(tmp_path)
    assert learned_words(CLIPTokenizer.from_pretrained(tmp_path)) == learned_words(bilingual)
    english = build_tokenizer(MiniSDConfig(), korean=False)  # a model trained on English only
    assert learned_words(english) == set(CAPTION_WORDS)
    assert english.get_vocab() == bilingual.get_vocab()  # same pieces, fewer of them learned


def test_merges_do_not_collide_across_words():
    # "re" from "red" must not break "green" or "center"
    merges = word_merges(["red", "green", "center", "re"])
    assert len(merges) == len(set(merges))
    tokenizer = build_word_tokenizer(["red", "green", "center", "re"], model_max_length=8)
    for word in ("red", "green", "center", "re"):
        assert tokenizer.tokenize(word) == [word + "</w>"]


def test_tiny_training_run_saves_a_loadable_pipeline_and_resumes(tmp_path, capsys):
    from diffusers import StableDiffusionPipeline

    out, work = tmp_path / "model", tmp_path / "work"
    summary = main(["--preset", "tiny", "--out", str(out), "--work", str(work)])
    assert summary["vae"]["steps"] == 3 and summary["unet"]["steps"] == 3
    files = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert ".safetensors" in files and ".bin" not in files
    assert json.loads((out / "training.json").read_text())["config"]["seed"] == 0

    pipe = StableDiffusionPipeline.from_pretrained(out, local_files_only=True)
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    assert pipe.vae.config.scaling_factor == summary["unet"]["scaling_factor"]
    image = pipe("a red circle", num_inference_steps=2, height=32, width=32,
                 generator=torch.Generator().manual_seed(0)).images[0]
    assert image.size == (32, 32)

    # a re-run with more UNet steps skips the finished VAE and goes on from step 3
    capsys.readouterr()
    longer = main(["--preset", "tiny", "--out", str(out), "--work", str(work),
                   "--unet-steps", "5"])
    printed = capsys.readouterr().out
    assert "VAE already trained" in printed
    assert "resuming unet from step 3" in printed
    assert longer["unet"]["steps"] == 5
    assert longer["wall_clock_minutes"] >= summary["wall_clock_minutes"]


def test_edge_mask_marks_only_edges():
    from helpers.shapes import Shape, render
    from helpers.shapes.dataset import image_to_tensor
    from helpers.training.train_mini_sd import edge_mask

    image = image_to_tensor(render(Shape("square", "large", "red", "center", "blue"), 64))
    mask = edge_mask(image[None])[0, 0]
    assert mask.shape == (64, 64)
    assert mask[32, 32] == 0 and mask[0, 0] == 0
    assert 0 < mask.sum() < 0.2 * 64 * 64
    assert mask[32, 15:18].sum() >= 1  # the left edge at x = (0.5 - 0.26) * 64 = 15.4


def test_random_crops_are_on_the_latent_grid_and_bad_sides_are_refused():
    import pytest

    from helpers.training.train_mini_sd import random_crops

    images = torch.arange(2 * 3 * 64 * 64, dtype=torch.float32).reshape(2, 3, 64, 64)
    crops = random_crops(images, 32, grid=8, generator=torch.Generator().manual_seed(0))
    assert crops.shape == (2, 3, 32, 32)
    for img, crop in zip(images, crops, strict=True):
        y, x = divmod(int(crop[0, 0, 0]) % (64 * 64), 64)
        assert y % 8 == 0 and x % 8 == 0
        assert torch.equal(crop, img[:, y:y + 32, x:x + 32])
    with pytest.raises(ValueError, match="multiple of 8"):
        random_crops(images, 30, grid=8)
    with pytest.raises(ValueError, match="fit"):
        random_crops(images, 72, grid=8)
