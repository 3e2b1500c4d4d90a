"""The generation cache: instant re-runs, and never a picture made with different parameters."""

from __future__ import annotations

import os
import re
import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import helpers
from conftest import build_tiny_controlnet, build_tiny_pipeline
from helpers.core import generation_cache as gc

PROMPT = "a red circle"


@pytest.fixture
def cache(tmp_path):
    """A fresh, empty cache folder for one test; afterwards the cache follows WORKBOOK_CACHE again."""
    gc._settings.unwritable.clear()  # each test starts a "session" that has not warned yet
    folder = gc.use_cache(True, tmp_path / "generations")
    yield folder
    gc.use_cache(None)
    gc._settings.unwritable.clear()


@pytest.fixture(scope="module")
def pipe():
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pixels(images):
    return [np.asarray(im) for im in images]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(pixels(a), pixels(b), strict=False))


def last() -> str:
    return gc.cache_info()["last"]


def test_a_cached_rerun_takes_under_a_tenth_of_a_second(cache, pipe):
    first = helpers.generate(pipe, [PROMPT] * 4, steps=3, seed=1)
    assert last().startswith("stored")
    timings = []
    for _ in range(3):  # the best of three, so that another process on the CPU does not decide it
        start = time.perf_counter()
        again = helpers.generate(pipe, [PROMPT] * 4, steps=3, seed=1)
        timings.append(time.perf_counter() - start)
        assert last().startswith("hit")
    assert min(timings) < 0.1, timings
    assert same(first, again) and same(again, helpers.generate(pipe, [PROMPT] * 4, steps=3, seed=1,
                                                                cache=False))
    info = gc.cache_info()
    assert info["entries"] == 1 and info["hits"] >= 1 and info["directory"] == str(cache)


def image(seed: int, size: int = 16) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def mask(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray((rng.random((16, 16)) > 0.5).astype(np.uint8) * 255)


BASE = {"prompt": PROMPT, "steps": 2, "guidance": 7.5, "seed": 0}
TEXT2IMG_VARIANTS = {
    "prompt": {"prompt": "a blue square"},
    "negative prompt": {"negative_prompt": "green"},
    "seed": {"seed": 1},
    "steps": {"steps": 3},
    "guidance": {"guidance": 7.0},
    "guidance 1 (no CFG)": {"guidance": 1.0},
    "size": {"width": 24, "height": 16},
    "prompt list": {"prompt": [PROMPT, PROMPT]},
    "batch": {"prompt": [PROMPT, PROMPT], "batch": 1},
    "pipeline argument": {"eta": 0.5},
}


def test_text2img_never_returns_a_picture_for_other_parameters(cache, pipe):
    """Warm the cache with the base call, then vary each part of the key: always a miss, and
    always exactly the pictures an uncached run with those parameters makes."""
    base = helpers.generate(pipe, **BASE)
    assert helpers.generate(pipe, **BASE) and last().startswith("hit")
    differs = set()
    for name, change in TEXT2IMG_VARIANTS.items():
        call = {**BASE, **change}
        got = helpers.generate(pipe, **call)
        assert last().startswith("stored"), f"{name}: {last()}"
        assert same(got, helpers.generate(pipe, **call, cache=False)), name
        if not same(got[:1], base):
            differs.add(name)
    assert gc.cache_info()["entries"] == 1 + len(TEXT2IMG_VARIANTS)
    # these really make another first picture, so a wrong hit would have been caught above
    # (a list's first picture has the base's seed; PNDM ignores eta)
    assert differs == set(TEXT2IMG_VARIANTS) - {"prompt list", "batch", "pipeline argument"}


def test_scheduler_model_weights_and_tokenizer_are_in_the_key(cache):
    from diffusers import DDIMScheduler, EulerDiscreteScheduler

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    helpers.generate(pipe, **BASE)
    changes = {
        "scheduler class": lambda p: setattr(p, "scheduler", DDIMScheduler.from_config(p.scheduler.config)),
        "scheduler config": lambda p: setattr(p, "scheduler", DDIMScheduler.from_config(
            p.scheduler.config, timestep_spacing="trailing")),
        "other scheduler": lambda p: setattr(p, "scheduler", EulerDiscreteScheduler.from_config(
            p.scheduler.config)),
        "weights changed in place": lambda p: p.unet.conv_out.bias.data.add_(0.5),
        "weights loaded": lambda p: p.vae.load_state_dict(build_tiny_pipeline(seed=1).vae.state_dict()),
        "weights trained": train_one_step,
        "another text encoder": lambda p: setattr(p, "text_encoder", build_tiny_pipeline(seed=2).text_encoder),
        "tokenizer grew": lambda p: p.tokenizer.add_tokens(["<my-style>"]),
        "float64": lambda p: p.to(torch.float64),
    }
    for name, change in changes.items():
        change(pipe)
        got = helpers.generate(pipe, **BASE)
        assert last().startswith("stored"), f"{name}: {last()}"
        assert same(got, helpers.generate(pipe, **BASE, cache=False)), name
        assert helpers.generate(pipe, **BASE) and last().startswith("hit"), name


def train_one_step(pipe):
    optimizer = torch.optim.SGD(pipe.unet.parameters(), lr=0.1)
    out = pipe.unet(torch.randn(1, 4, 8, 8), 10, encoder_hidden_states=torch.randn(1, 16, 32)).sample
    out.pow(2).mean().backward()
    optimizer.step()
    pipe.unet.zero_grad(set_to_none=True)


def test_img2img_inpaint_and_controlnet_inputs_are_in_the_key(cache, pipe):
    from diffusers import (
        AutoPipelineForImage2Image,
        AutoPipelineForInpainting,
        StableDiffusionControlNetPipeline,
    )

    img2img = AutoPipelineForImage2Image.from_pipe(pipe)
    inpaint = AutoPipelineForInpainting.from_pipe(build_tiny_pipeline(in_channels=9))
    control = StableDiffusionControlNetPipeline.from_pipe(pipe, controlnet=build_tiny_controlnet())
    for p in (img2img, inpaint, control):
        p.set_progress_bar_config(disable=True)
    cases = [
        (img2img, {"image": image(0), "strength": 0.6},
         [{"image": image(1)}, {"strength": 0.8}]),
        (inpaint, {"image": image(0), "mask_image": mask(0)},
         [{"image": image(1)}, {"mask_image": mask(1)}, {"strength": 0.5}]),
        (control, {"image": image(0), "controlnet_conditioning_scale": 1.0},
         [{"image": image(1)}, {"controlnet_conditioning_scale": 0.5}, {"guess_mode": True}]),
    ]
    for p, inputs, variants in cases:
        helpers.generate(p, **BASE, **inputs)
        assert last().startswith("stored")
        assert helpers.generate(p, **BASE, **inputs) and last().startswith("hit")
        for change in variants:
            call = {**BASE, **inputs, **change}
            got = helpers.generate(p, **call)
            assert last().startswith("stored"), f"{type(p).__name__} {change}: {last()}"
            assert same(got, helpers.generate(p, **call, cache=False)), change
    # the same weights in another pipeline class is another key
    helpers.generate(img2img, **BASE, image=image(0), strength=1.0)
    assert last().startswith("stored")


def test_calls_it_cannot_describe_run_without_the_cache(cache, pipe):
    from diffusers.models.attention_processor import AttnProcessor

    calls = []
    helpers.generate(pipe, **BASE, callback_on_step_end=lambda p, i, t, kw: calls.append(i) or kw)
    assert last().startswith("not cached: an argument of type function") and calls
    helpers.generate(pipe, **BASE, output_type="np")
    assert last() == "not cached: output_type is not 'pil'"

    class Recorder(AttnProcessor):
        pass

    pipe.unet.set_attn_processor(Recorder())
    helpers.generate(pipe, **BASE)
    assert last() == "not cached: a custom attention processor Recorder"
    pipe.unet.set_attn_processor(AttnProcessor())
    handle = pipe.unet.conv_out.register_forward_hook(lambda *args: None)
    helpers.generate(pipe, **BASE)
    assert last().startswith("not cached: a forward hook")
    handle.remove()
    helpers.generate(pipe, **BASE)
    assert last().startswith("stored")
    assert gc.cache_info()["skipped"] >= 4


def test_a_stored_key_that_differs_is_never_returned(cache, pipe):
    digest, key = gc.make_key(pipe, {"prompt": PROMPT})
    gc.store(digest, key, [image(0)])
    assert same(gc.load(digest, key), [image(0)])
    assert gc.load(digest, key.replace(PROMPT, "a blue circle")) is None  # same file, other key
    gc._path(cache, digest).write_bytes(b"half a file")
    assert gc.load(digest, key) is None


def test_where_the_cache_lives_and_how_to_turn_it_off(monkeypatch, tmp_path, pipe):
    gc.use_cache(None)
    monkeypatch.setenv("WORKBOOK_CACHE", "off")
    assert gc.cache_dir() is None
    helpers.generate(pipe, **BASE)
    assert last() == "cache off"
    monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "c"))
    assert gc.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("WORKBOOK_CACHE")
    assert gc.cache_dir() == gc.DEFAULT_DIR
    try:
        assert gc.use_cache(False) is None
        monkeypatch.setenv("WORKBOOK_CACHE", str(tmp_path / "c"))
        assert gc.cache_dir() is None
        monkeypatch.setenv("WORKBOOK_CACHE", "off")
        assert gc.use_cache(True) == gc.DEFAULT_DIR
    finally:
        gc.use_cache(None)
    with pytest.raises(ValueError, match="True, False or None"):
        gc.use_cache("yes")


def test_the_default_folder_is_ignored_by_git():
    assert gc.DEFAULT_DIR.relative_to(gc.REPO_ROOT).parts[0] == ".cache"
    assert ".cache/" in (gc.REPO_ROOT / ".gitignore").read_text().split()


def test_pytest_runs_without_the_cache():
    """The root conftest.py turns the cache off for tests and the notebooks nbval runs."""
    import os

    gc.use_cache(None)
    assert os.environ["WORKBOOK_CACHE"] == "off" and gc.cache_dir() is None


def test_lora_adapters_and_their_weights_are_in_the_key(cache):
    """Notebook 09 adds LoRA layers with peft and changes their weight: each is another key."""
    from peft import LoraConfig

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    helpers.generate(pipe, **BASE)
    config = LoraConfig(r=4, lora_alpha=4, init_lora_weights="gaussian",
                        target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    pipe.unet.add_adapter(config, adapter_name="style")
    steps = {
        "adapter added": lambda: None,
        "adapter weight 0.5": lambda: pipe.unet.set_adapters(["style"], weights=[0.5]),
        "adapters off": lambda: pipe.unet.disable_adapters(),
        "adapters on again, weight 0.5": lambda: pipe.unet.enable_adapters(),
    }
    seen = []
    for name, change in steps.items():
        change()
        got = helpers.generate(pipe, **BASE)
        seen.append((last().startswith("hit"), name))
        assert same(got, helpers.generate(pipe, **BASE, cache=False)), name
    assert [hit for hit, _ in seen] == [False, False, False, True], seen  # the last is a repeat



# ----------------------------------------------------------------------------- switches in the key


def test_vae_tiling_is_in_the_key(cache):
    """The issue's stale picture: at 48 px the tiny VAE's latents (24) are larger than its tile
    (``tile_latent_min_size`` 16), so ``enable_tiling()`` decodes in blended tiles, other pixels."""
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    call = {**BASE, "width": 48, "height": 48}
    plain = helpers.generate(pipe, **call)
    pipe.vae.enable_tiling()
    tiled = helpers.generate(pipe, **call)
    assert last().startswith("stored"), last()
    assert same(tiled, helpers.generate(pipe, **call, cache=False))
    assert np.abs(pixels(tiled)[0].astype(int) - pixels(plain)[0]).max() > 0
    pipe.vae.disable_tiling()
    assert same(helpers.generate(pipe, **call), plain) and last().startswith("hit")


def scale_first_self_attention(pipe):
    pipe.unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.scale *= 2


def reverse_positions(pipe):
    """Edit a buffer that ``state_dict`` leaves out (non-persistent): the text positions."""
    ids = pipe.text_encoder.text_model.embeddings.position_ids if hasattr(
        pipe.text_encoder, "text_model") else pipe.text_encoder.embeddings.position_ids
    ids.copy_(ids.flip(-1))


def toggle_training(module):
    module.train(not module.training)


SWITCHES = {  # applied one after another; True: known to change the first picture
    "smaller vae tiles": (lambda p: (setattr(p.vae, "tile_sample_min_size", 8),
                                     setattr(p.vae, "tile_latent_min_size", 4)), False),
    "vae tiling": (lambda p: p.vae.enable_tiling(), True),  # 8x8 latents in 4x4 tiles
    "tile overlap": (lambda p: setattr(p.vae, "tile_overlap_factor", 0.5), True),
    "vae slicing": (lambda p: p.vae.enable_slicing(), False),
    "attention slicing": (lambda p: p.enable_attention_slicing(1), False),
    "attention slice size": (lambda p: p.enable_attention_slicing(2), False),
    "FreeU": (lambda p: p.enable_freeu(s1=0.9, s2=0.2, b1=1.2, b2=1.4), True),
    "a layer's attention scale": (scale_first_self_attention, True),
    "a layer's training mode": (lambda p: toggle_training(p.unet.down_blocks[0]), False),
    "a non-persistent buffer": (reverse_positions, True),
    "scheduler alphas_cumprod": (lambda p: setattr(p.scheduler, "alphas_cumprod",
                                                   p.scheduler.alphas_cumprod * 0.98), True),
    "scheduler tensor edited in place": (lambda p: p.scheduler.alphas_cumprod.mul_(0.98), True),
    "scheduler init_noise_sigma": (lambda p: setattr(p.scheduler, "init_noise_sigma", 1.5), True),
}


def test_every_switch_that_can_change_pixels_is_in_the_key(cache):
    """Each switch in turn: a miss (a real run), then a hit on repeat."""
    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    call = {**BASE, "prompt": [PROMPT, "a blue square"], "batch": 2}
    before = helpers.generate(pipe, **call)
    changed = set()
    for name, (switch, _) in SWITCHES.items():
        with torch.no_grad():
            switch(pipe)
        got = helpers.generate(pipe, **call)
        assert last().startswith("stored"), f"{name}: {last()}"
        assert same(helpers.generate(pipe, **call), got) and last().startswith("hit"), name
        if not same(got[:1], before[:1]):
            changed.add(name)
        before = got
    # the switches known to change pixels did here, so a stale hit would have been caught
    assert changed >= {name for name, (_, changes) in SWITCHES.items() if changes}, changed


@pytest.mark.parametrize("scheduler", ["UniPCMultistepScheduler", "DPMSolverMultistepScheduler",
                                       "EulerAncestralDiscreteScheduler"])
def test_what_a_scheduler_changes_while_sampling_is_not_in_the_key(cache, scheduler):
    """Multistep schedulers keep state between steps (``model_outputs``, ``timestep_list``...);
    a run leaves it changed, yet repeating an earlier call still hits."""
    import diffusers

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = getattr(diffusers, scheduler).from_config(pipe.scheduler.config)
    first = helpers.generate(pipe, **BASE)
    helpers.generate(pipe, **{**BASE, "steps": 3})
    assert same(helpers.generate(pipe, **BASE), first) and last().startswith("hit"), last()


def test_a_model_loaded_from_another_folder_has_the_same_key(tmp_path):
    """The key holds the weights by content, not the path they were loaded from, so a cache
    folder copied to a classroom machine (the repo elsewhere) still hits."""
    from diffusers import StableDiffusionPipeline

    keys = set()
    for folder in ("here", "there"):
        build_tiny_pipeline().save_pretrained(tmp_path / folder)
        keys.add(gc.make_key(StableDiffusionPipeline.from_pretrained(tmp_path / folder), BASE)[0])
    assert len(keys) == 1


# ----------------------------------------------------------------------------- replaced methods


def halve(function):
    """A patch as a student might write it: the original, with pictures half as bright."""
    def patched(*args, **kwargs):
        out = function(*args, **kwargs)
        if isinstance(out, torch.Tensor):
            return out * 0.5 - 0.5
        if hasattr(out, "sample"):
            out.sample = out.sample * 0.5 - 0.5
            return out
        return (out[0] * 0.5 - 0.5,) + tuple(out[1:])
    return patched


def test_a_replaced_method_is_never_cached(cache, monkeypatch):
    """A method replaced on one object or patched onto a class from outside the libraries: the
    call runs without the cache (skipped, and ``last`` names the method), so it is never stale."""
    from diffusers import AutoencoderKL, PNDMScheduler

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    original = helpers.generate(pipe, **BASE)
    cases = {
        "vae.decode on the object": (
            lambda: setattr(pipe.vae, "decode", halve(pipe.vae.decode)),
            lambda: delattr(pipe.vae, "decode"), "AutoencoderKL.decode"),
        "a layer's forward": (
            lambda: setattr(pipe.vae.decoder.conv_out, "forward", halve(pipe.vae.decoder.conv_out.forward)),
            lambda: delattr(pipe.vae.decoder.conv_out, "forward"), "Conv2d.forward on AutoencoderKL.decoder.conv_out"),
        "AutoencoderKL.decode on the class": (
            lambda: monkeypatch.setattr(AutoencoderKL, "decode", halve(AutoencoderKL.decode)),
            monkeypatch.undo, "AutoencoderKL.decode (from test_generation_cache)"),
        "scheduler.step on the object": (
            lambda: setattr(pipe.scheduler, "step", halve(pipe.scheduler.step)),
            lambda: delattr(pipe.scheduler, "step"), "PNDMScheduler.step"),
        "PNDMScheduler.step on the class": (
            lambda: monkeypatch.setattr(PNDMScheduler, "step", halve(PNDMScheduler.step)),
            monkeypatch.undo, "PNDMScheduler.step (from test_generation_cache)"),
        "pipe.encode_prompt on the object": (
            lambda: setattr(pipe, "encode_prompt", halve(pipe.encode_prompt)),
            lambda: delattr(pipe, "encode_prompt"), "StableDiffusionPipeline.encode_prompt"),
    }
    for name, (patch, unpatch, method) in cases.items():
        skipped = gc.cache_info()["skipped"]
        patch()
        got = helpers.generate(pipe, **BASE)
        assert last() == f"not cached: a replaced method {method}", f"{name}: {last()}"
        assert gc.cache_info()["skipped"] == skipped + 1, name
        assert not same(got, original), name  # the patch ran, so a hit would have been stale
        unpatch()
        assert same(helpers.generate(pipe, **BASE), original) and last().startswith("hit"), name


def test_accelerate_offload_hooks_are_cached_and_other_hooks_are_not(cache):
    """``enable_model_cpu_offload()`` wraps ``forward`` with accelerate's hooks (here on the CPU,
    as this machine has no GPU): the pictures stay the same, so the call is still cached."""
    from accelerate.big_modeling import cpu_offload_with_hook
    from accelerate.hooks import ModelHook, add_hook_to_module, remove_hook_from_module

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    original = helpers.generate(pipe, **BASE)
    cpu_offload_with_hook(pipe.unet, execution_device="cpu")
    assert same(helpers.generate(pipe, **BASE), original)
    assert last().startswith("stored"), last()  # another key: hooks are in it
    assert helpers.generate(pipe, **BASE) and last().startswith("hit")
    remove_hook_from_module(pipe.unet)

    class Brighter(ModelHook):
        def post_forward(self, module, output):
            return output

    add_hook_to_module(pipe.unet, Brighter())
    helpers.generate(pipe, **BASE)
    assert last().startswith("not cached: a replaced method UNet2DConditionModel.forward"), last()
    remove_hook_from_module(pipe.unet)
    assert same(helpers.generate(pipe, **BASE), original) and last().startswith("hit")


# ----------------------------------------------------------------------------- never fatal


def entry(pipe, call=BASE):
    """The file ``helpers.generate(pipe, **call)`` is stored in, and its key."""
    digest, key = gc.make_key(pipe, {**call, "negative_prompt": None})
    return gc._path(gc.cache_dir(), digest), key


def flip_a_byte_in_the_pictures(path):
    data = bytearray(path.read_bytes())
    at = data.index(b"image_0.npy") + 200  # inside the first picture's compressed data
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def save_arrays(path, key, **arrays):
    with open(path, "wb") as f:
        np.savez(f, key=np.array(key), **arrays)


CORRUPT = {  # what happens to a stored entry -> the error reading it raises
    "truncated": (lambda p, k: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "BadZipFile"),
    "empty": (lambda p, k: p.write_bytes(b""), "EOFError"),
    "bit flipped": (lambda p, k: flip_a_byte_in_the_pictures(p), ""),
    "not a zip": (lambda p, k: p.write_bytes(b"\x93NUMPY" + bytes(range(256)) * 8), ""),
    "pictures that are floats": (lambda p, k: save_arrays(
        p, k, modes=np.array(["RGB"]), image_0=np.zeros((16, 16, 3))), "ValueError"),
    "a picture of the wrong shape": (lambda p, k: save_arrays(
        p, k, modes=np.array(["RGB"]), image_0=np.zeros((16, 16), np.uint8)), "ValueError"),
    "a picture missing": (lambda p, k: save_arrays(
        p, k, modes=np.array(["RGB", "RGB"]), image_0=np.zeros((16, 16, 3), np.uint8)), "KeyError"),
    "a pickled object": (lambda p, k: save_arrays(
        p, k, modes=np.array([object()], dtype=object)), "ValueError"),
    "a folder in its place": (lambda p, k: (p.unlink(), p.mkdir()), ""),
}


@pytest.mark.parametrize("damage", list(CORRUPT))
def test_an_unreadable_entry_is_a_miss_and_is_replaced(cache, pipe, damage):
    first = helpers.generate(pipe, **BASE)
    path, key = entry(pipe)
    assert path.is_file() and same(gc.load(path.stem, key), first)
    spoil, error = CORRUPT[damage]
    spoil(path, key)
    assert gc.load(path.stem, key) is None
    why = gc._read(path, key)[1]
    assert why.startswith(f"unreadable ({error}") if damage != "bit flipped" else why != "", why
    if damage == "a folder in its place":  # cannot be replaced by a file: a miss, and a warning
        with pytest.warns(gc.CacheWarning, match="is a directory"):
            assert same(helpers.generate(pipe, **BASE), first)
        return
    assert same(helpers.generate(pipe, **BASE), first)
    assert last().startswith("stored") and path.is_file(), last()
    assert same(helpers.generate(pipe, **BASE), first) and last().startswith("hit")


def no_cache_warnings(record) -> bool:
    return not [w for w in record if issubclass(w.category, gc.CacheWarning)]


WRITE_ERRORS = {
    "permission denied": PermissionError(13, "Permission denied"),
    "read-only file system": OSError(30, "Read-only file system"),
    "no space left on device": OSError(28, "No space left on device"),
}


@pytest.mark.parametrize("error", list(WRITE_ERRORS))
def test_a_folder_that_cannot_be_written_warns_once_and_carries_on(cache, pipe, monkeypatch, error):
    """The write fails (as in a read-only copy of the cache; root ignores chmod, so the write is
    made to fail): the pictures come back, one warning names the folder, why and the fix, and
    stored pictures are still served."""
    stored = helpers.generate(pipe, **BASE)

    def fail(path, key, images):
        path.write_bytes(b"half")  # a partial file is left behind by the failed write...
        raise WRITE_ERRORS[error]

    monkeypatch.setattr(gc, "_write", fail)
    with pytest.warns(gc.CacheWarning) as record:
        got = helpers.generate(pipe, **{**BASE, "seed": 1})
    assert last().startswith("miss") and f"cannot write to {cache} ({error})" in last()
    assert same(got, helpers.generate(pipe, **{**BASE, "seed": 1}, cache=False))
    message = str(record[0].message)
    assert len(record) == 1 and message == (
        f"The generation cache cannot write to {cache} ({error}), so new pictures are generated "
        "but not saved; point WORKBOOK_CACHE to a writable folder, or turn the cache off with "
        "WORKBOOK_CACHE=off or helpers.use_cache(False).")
    assert not list(cache.glob("*/*.partial.npz"))  # ...and removed
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        assert helpers.generate(pipe, **{**BASE, "seed": 2}) and last().startswith("miss")
        assert same(helpers.generate(pipe, **BASE), stored) and last().startswith("hit")
    assert no_cache_warnings(later)
    assert gc.cache_info()["entries"] == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 555; the test above "
                    "makes the write fail instead")
def test_a_read_only_folder_warns_once_and_carries_on(cache, pipe):
    stored = helpers.generate(pipe, **BASE)
    for folder in (cache, *cache.iterdir()):
        folder.chmod(0o555)
    try:
        with pytest.warns(gc.CacheWarning, match="cannot write to .*permission denied"):
            got = helpers.generate(pipe, **{**BASE, "seed": 1})
        assert same(got, helpers.generate(pipe, **{**BASE, "seed": 1}, cache=False))
        assert same(helpers.generate(pipe, **BASE), stored) and last().startswith("hit")
    finally:
        for folder in (cache, *cache.iterdir()):
            folder.chmod(0o755)


@pytest.mark.parametrize("where", ["a file", "a folder inside a file"])
def test_workbook_cache_naming_a_file_warns_once_and_acts_as_a_miss(tmp_path, pipe, monkeypatch, where):
    file = tmp_path / "generations.txt"
    file.write_text("not a folder")
    folder = file if where == "a file" else file / "generations"
    gc._settings.unwritable.clear()
    gc.use_cache(None)
    monkeypatch.setenv("WORKBOOK_CACHE", str(folder))
    try:
        why = "it is a file, not a folder" if where == "a file" else f"{file} is a file"
        with pytest.warns(gc.CacheWarning, match=re.escape(f"cannot write to {folder} ({why})")):
            got = helpers.generate(pipe, **BASE)
        assert same(got, helpers.generate(pipe, **BASE, cache=False))
        with warnings.catch_warnings(record=True) as later:
            warnings.simplefilter("always")
            assert same(helpers.generate(pipe, **BASE), got) and last().startswith("miss")
        assert no_cache_warnings(later)
        info = gc.cache_info()
        assert info["entries"] == 0 and info["directory"] == str(folder)
        assert file.read_text() == "not a folder"
    finally:
        gc.use_cache(None)
        gc._settings.unwritable.clear()
