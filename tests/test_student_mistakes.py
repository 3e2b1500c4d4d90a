"""Every student mistake from issue #18 at the public entry points: one sentence naming the fix, or the right picture.

One row per probe of the issue (the cache and checker probes are tested beside their modules).
The bundled mini-sd runs at its own 64 px with two to four steps, so the file takes seconds.
"""

from __future__ import annotations

import functools
import importlib
import re
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import helpers
from helpers import shapes
from helpers.core.prompt_words import UnknownWordsWarning, unknown_words

STEPS = 2
PROMPT = "a large red circle at the left on a blue background"


@pytest.fixture(scope="module")
def pipes():
    """The bundled model as text2img, img2img and inpaint pipelines (one set of weights), on the CPU."""
    loaded = {task: helpers.load_pipeline(task, model="mini-sd", device="cpu")
              for task in ("text2img", "img2img", "inpaint")}
    for pipe in loaded.values():
        pipe.set_progress_bar_config(disable=True)
    return loaded


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    """Each test sees every unknown-words warning afresh."""
    # helpers.unknown_words is also the name of the exported function, so reach the module itself.
    monkeypatch.setattr(importlib.import_module("helpers.core.prompt_words"), "_warned", set())


def source() -> Image.Image:
    """A 64x64 Shapes picture to start img2img and inpainting from."""
    return shapes.render(shapes.Shape("circle", "large", "red", "left", "blue"), size=64)


def pixels(picture: Image.Image) -> np.ndarray:
    return np.asarray(picture, dtype=int)


def run(pipes, task: str = "text2img", prompt=PROMPT, **kwargs):
    """Call generate the way a student would, without the cache."""
    kwargs.setdefault("steps", STEPS)
    return helpers.generate(pipes[task], prompt, cache=False, **kwargs)


# --- Unclear errors and silently wrong values: each gets one sentence naming the fix -------------

MISTAKES = [
    # (probe from the issue, task, keyword arguments, error type, key phrase of the sentence)
    ("steps=-3", "text2img", {"steps": -3}, ValueError, r"steps=-3 runs no denoising.*at least 1"),
    ("steps=0", "text2img", {"steps": 0}, ValueError, r"steps=0 runs no denoising.*at least 1"),
    ("steps=2.5", "text2img", {"steps": 2.5}, ValueError, r"whole number.*the number 2\.5"),
    ("steps='10'", "text2img", {"steps": "10"}, ValueError, r"write steps=10 without quotes"),
    ("guidance=-5", "text2img", {"guidance": -5}, ValueError, r"below 1.*guidance=1 for no guidance"),
    ("guidance=0", "text2img", {"guidance": 0}, ValueError, r"guidance off exactly as at 1"),
    ("guidance=nan", "text2img", {"guidance": float("nan")}, ValueError, r"not a finite number"),
    ("guidance=inf", "text2img", {"guidance": float("inf")}, ValueError, r"not a finite number"),
    ("width=0", "text2img", {"width": 0}, ValueError, r"width=0 is not a positive multiple of 8"),
    ("strenght=0.5 on img2img", "img2img", {"image": "source", "strenght": 0.5}, TypeError,
     r"strenght= is not an argument .* did you mean strength=\?"),
    ("strenght=0.5 on text2img", "text2img", {"strenght": 0.5}, TypeError,
     r"did you mean strength=\? .*load_pipeline\('img2img'\)"),
    ("seed=1.5", "text2img", {"seed": 1.5}, ValueError, r"seed must be a whole number.*1\.5"),
    ("seed='42'", "text2img", {"seed": "42"}, ValueError, r"write seed=42 without quotes"),
    ("strength=0", "img2img", {"image": "source", "strength": 0, "steps": 10}, ValueError,
     r"0 denoising steps; use strength=0\.1 or more"),
    ("strength=0.05 at 10 steps", "img2img", {"image": "source", "strength": 0.05, "steps": 10},
     ValueError, r"strength=0\.05 with steps=10 .* strength=0\.1 or more .* steps=20 or more"),
    ("guidance_scale=", "text2img", {"guidance_scale": 5.0}, TypeError,
     r"write guidance= instead of guidance_scale="),
    ("num_inference_steps=", "text2img", {"num_inference_steps": 5}, TypeError,
     r"write steps= instead of num_inference_steps="),
    ("generator=", "text2img", {"generator": "generator"}, TypeError, r"write seed=42 instead of generator="),
    ("100000x100000", "text2img", {"width": 100000, "height": 100000}, ValueError,
     r"10,000,000,000 pixels in one call.*memory"),
    ("negative_prompt=123", "text2img", {"negative_prompt": 123}, ValueError,
     r"negative_prompt must be text in quotes.*the number 123"),
    ("4-channel latents as image=", "img2img", {"image": "latents"}, ValueError,
     r"looks like latents"),
]


@pytest.mark.parametrize("probe, task, kwargs, error, phrase", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_gets_one_sentence_naming_the_fix(pipes, probe, task, kwargs, error, phrase):
    values = {"source": source(), "latents": torch.randn(1, 4, 8, 8),
              "generator": torch.Generator("cpu").manual_seed(0)}
    kwargs = {k: values.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(error, match=phrase) as caught:
        run(pipes, task, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message  # one sentence, no dump


@pytest.mark.parametrize("prompt, phrase", [(None, r"prompt must be text in quotes.*got None"),
                                            (123, r"prompt must be text in quotes.*the number 123"),
                                            (["a circle", 7], r"prompt\[1\] is the number 7")])
def test_a_prompt_that_is_not_text_gets_a_sentence(pipes, prompt, phrase):
    with pytest.raises(ValueError, match=phrase):
        run(pipes, prompt=prompt)


@pytest.mark.parametrize("device, phrase", [
    ("gpu", r"write device='cuda' for an NVIDIA GPU"),
    # a CPU-only torch (here) says so; a CUDA build without a GPU (the Colab twin) says it sees none
    ("cuda", (r"a CPU-only build, so no CUDA GPU is visible" if torch.version.cuda is None
              else rf"built for CUDA {re.escape(str(torch.version.cuda))}\) sees no CUDA GPU") + ".*Colab.*T4 GPU"),
    ("tpu", r"not a device name torch knows; use 'cpu', 'cuda' or 'mps'"),
])
def test_device_names_get_a_sentence(device, phrase):
    assert not torch.cuda.is_available()  # this machine has no GPU
    with pytest.raises(ValueError, match=phrase):
        helpers.load_pipeline("text2img", model="mini-sd", device=device)


def test_setup_refuses_a_seed_that_is_not_a_whole_number(capsys):
    with pytest.raises(ValueError, match=r"seed must be a whole number.*1\.5"):
        helpers.setup(seed=1.5)
    with pytest.raises(ValueError, match=r"write seed=42 without quotes"):
        helpers.setup(seed="42")
    assert capsys.readouterr().out == ""  # refused before printing anything


# --- Accepted and converted correctly ------------------------------------------------------------


def test_numpy_integer_seed_gives_the_same_picture_as_the_int(pipes):
    assert np.array_equal(pixels(run(pipes, seed=np.int64(5))[0]), pixels(run(pipes, seed=5)[0]))


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L"])
def test_any_picture_mode_is_read_as_rgb_at_its_own_size(pipes, mode):
    """An RGBA picture was taken for latents (512 px out of a 64 px picture); L and P crashed."""
    picture = source().convert(mode)
    out = run(pipes, "img2img", image=picture, strength=0.5)[0]
    assert out.size == (64, 64)
    rgb = run(pipes, "img2img", image=picture.convert("RGB"), strength=0.5)[0]
    assert np.array_equal(pixels(out), pixels(rgb))


def test_uint8_array_gives_the_same_picture_as_the_pil_image(pipes):
    """A uint8 array 0-255 was read as floats; it is the same picture as the PIL image."""
    from_pil = run(pipes, "img2img", image=source(), strength=0.5)[0]
    from_array = run(pipes, "img2img", image=np.asarray(source()), strength=0.5)[0]
    assert np.array_equal(pixels(from_pil), pixels(from_array))


def test_float_array_in_0_1_is_read_as_floats(pipes):
    floats = np.asarray(source(), dtype=np.float32) / 255
    tensor = torch.from_numpy(floats).permute(2, 0, 1)  # CHW, as torch keeps pictures
    from_pil = run(pipes, "img2img", image=source(), strength=0.5)[0]
    assert np.array_equal(pixels(run(pipes, "img2img", image=floats, strength=0.5)[0]),
                          pixels(from_pil))
    assert np.array_equal(pixels(run(pipes, "img2img", image=tensor, strength=0.5)[0]),
                          pixels(from_pil))


def test_boolean_mask_array_is_a_mask(pipes):
    repaint = np.zeros((64, 64), dtype=bool)
    repaint[16:48, 16:48] = True
    as_pil = Image.fromarray(repaint.astype(np.uint8) * 255, mode="L")
    kwargs = {"image": source()}
    with_bool = run(pipes, "inpaint", mask_image=repaint, **kwargs)[0]
    with_pil = run(pipes, "inpaint", mask_image=as_pil, **kwargs)[0]
    assert with_bool.size == (64, 64)
    assert np.array_equal(pixels(with_bool), pixels(with_pil))  # True = white = redrawn


def test_a_list_of_pictures_goes_with_the_prompts_in_chunks(pipes):
    """Per-prompt pictures are split with the prompts, whatever the batch."""
    pictures = [source(), source().transpose(Image.Transpose.FLIP_LEFT_RIGHT), source()]
    prompts = ["a yellow square"] * 3
    one_call = run(pipes, "img2img", prompt=prompts, image=pictures, strength=0.5, batch=3)
    chunks = run(pipes, "img2img", prompt=prompts, image=pictures, strength=0.5, batch=2)
    assert len(chunks) == 3
    for a, b in zip(one_call, chunks, strict=True):
        assert np.abs(pixels(a) - pixels(b)).max() <= 1
    with pytest.raises(ValueError, match="3 prompts but 2 pictures in image="):
        run(pipes, "img2img", prompt=prompts, image=pictures[:2], strength=0.5)


def test_batch_none_asks_default_batch(pipes, monkeypatch):
    import helpers.core.loading

    asked = []

    def one_at_a_time(pipe, width=None, height=None):
        asked.append((width, height))
        return 1

    monkeypatch.setattr(helpers.core.loading, "default_batch", one_at_a_time)
    calls = []
    pipe = pipes["text2img"]
    monkeypatch.setattr(type(pipe), "__call__", _counting(type(pipe).__call__, calls))
    run(pipes, prompt=["a circle", "a square", "a triangle"])
    assert asked == [(64, 64)] and len(calls) == 3


def _counting(call, calls):
    @functools.wraps(call)
    def wrapper(self, *args, **kwargs):
        calls.append(len(args[0]) if args and isinstance(args[0], list) else 1)
        return call(self, *args, **kwargs)

    return wrapper


# --- Korean and unknown words ------------------------------------------------------------------


def test_a_korean_caption_is_learned_and_does_not_warn(pipes):
    """mini-sd learned the Korean captions of the Shapes world: no warning, and not the empty prompt."""
    korean = "파란 배경 가운데에 큰 빨간 원"
    assert unknown_words(pipes["text2img"].tokenizer, korean) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownWordsWarning)
        picture = run(pipes, prompt=korean)[0]
    assert not np.array_equal(pixels(picture), pixels(run(pipes, prompt="")[0]))


def test_words_the_model_never_learned_warn_once_per_call(pipes):
    """English or Korean, a word outside the captions is named; one warning for all of a call's prompts."""
    prompts = ["a 고양이 at the left", "a pink hexagon", "a pink circle"]
    with pytest.warns(UnknownWordsWarning, match=r"본 적 없는 단어: '고양이', 'pink', 'hexagon'") as seen:
        run(pipes, prompt=prompts)
    assert len(seen) == 1 and "빨간" in str(seen[0].message)  # it lists the words it knows
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownWordsWarning)
        run(pipes, prompt=prompts)  # the same words: no second warning
    with pytest.warns(UnknownWordsWarning, match=r"본 적 없는 단어: '파란색'"):
        run(pipes, negative_prompt="파란색 circle")


def test_a_prompt_with_no_learned_word_says_so(pipes):
    with pytest.warns(UnknownWordsWarning, match=r"'고양이 사진'에는 아는 단어가 하나도 없습니다"):
        run(pipes, prompt="고양이 사진")


def test_punctuation_and_capitals_are_not_unknown_words(pipes):
    tokenizer = pipes["text2img"].tokenizer
    assert unknown_words(tokenizer, "A large RED circle, at the left; on a blue background.") == []
    assert unknown_words(tokenizer, "큰 빨간 원!") == []


def test_a_word_added_to_the_tokenizer_counts_as_learned(pipes):
    """09 teaches the mini model a new word <hexagon>: prompts with it must not warn."""
    from helpers.editing import personalize

    taught = personalize.personal_copy(pipes["text2img"])
    personalize.add_token(taught, "<hexagon>", init_word="circle")
    assert unknown_words(taught.tokenizer, "a large red <hexagon>, at the left") == []
    assert unknown_words(pipes["text2img"].tokenizer, "a large red <hexagon>") == ["<hexagon>"]


def test_a_byte_level_tokenizer_like_sd15s_never_warns():
    """SD 1.5's CLIP tokenizer maps every byte to a token, so no word is ever unknown."""
    from transformers import CLIPTokenizer

    # CLIP's (and GPT-2's) byte alphabet: each of the 256 bytes is one printable character.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    letters = [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]
    vocab = {t: i for i, t in enumerate([*letters, *(c + "</w>" for c in letters),
                                         "<|startoftext|>", "<|endoftext|>"])}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    assert unknown_words(tokenizer, "파란 배경 가운데 큰 빨간 원") == []


# --- Determinism: batch of 4 vs one at a time ------------------------------------------------------


def test_a_picture_made_in_a_batch_is_the_one_made_alone_up_to_one_grey_level(pipes):
    prompts = ["a red circle", "a small blue square at the top", "a green triangle", "a person"]
    together = run(pipes, prompt=prompts, seed=7, batch=4, steps=4)
    alone = run(pipes, prompt=prompts, seed=7, batch=1, steps=4)
    assert max(np.abs(pixels(a) - pixels(b)).max() for a, b in zip(together, alone, strict=True)) <= 1
