"""The SD 3 family on the real road: choose_backend / load_pipeline(family="sd3") and generate.

The offline hub cache of conftest.py holds a tiny random StableDiffusion3Pipeline under SD 3.5
Medium's real repo id, saved as the real repo is laid out but with its T5 folders absent while
model_index.json still names them: every load here proves the workbook never needs the T5.
"""

from __future__ import annotations

import functools
import json

import httpx
import pytest
import torch

from conftest import (
    SD3_SCHEDULER_SHIFT,
    SD3_T5_ENTRIES,
    SD3_VAE_SCALING,
    SD3_VAE_SHIFT,
    TOKEN_LENGTH,
)
from helpers.core.config import BUNDLED_SD3_DIR
from helpers.core.registry import REGISTRY

SD35 = REGISTRY["sd35-medium"]


def _gated_error() -> Exception:
    """The error huggingface_hub raises for a gated repo this user has not been let into."""
    from huggingface_hub.errors import GatedRepoError

    url = f"https://huggingface.co/api/models/{SD35.hub_id}/auth-check"
    return GatedRepoError(f"403 Client Error. Cannot access gated repo for url {url}.",
                          response=httpx.Response(403, request=httpx.Request("GET", url)))


def _hub_reachable(monkeypatch) -> None:
    import helpers.core.loading

    monkeypatch.setattr(helpers.core.loading, "hub_reachable", lambda *a, **k: True)
    monkeypatch.setattr(helpers.core.loading, "hub_offline", lambda *a, **k: False)


def test_cpu_chooses_the_bundled_mini_sd3():
    from helpers.core.loading import choose_backend

    assert choose_backend("cpu", family="sd3") == ("mini-sd3", "bundled mini-sd3: no CUDA GPU")
    assert choose_backend("cpu")[0] == "mini-sd"  # the default family is still SD 1.5's


def test_cuda_with_the_real_repo_cached_chooses_sd35_medium(offline_hub):
    from helpers.core.loading import choose_backend

    model, reason = choose_backend("cuda", family="sd3")
    assert (model, reason) == ("sd35-medium", "real sd35-medium: CUDA and found in the local cache")
    assert choose_backend("cuda", task="inpaint", family="sd3")[0] == "sd35-medium"  # no SD 3 inpainting key
    assert choose_backend("cuda")[0] == "sd15"


def test_gated_repo_without_access_falls_back_to_mini_sd3_and_says_how(empty_offline_hub, monkeypatch):
    import huggingface_hub

    from helpers.core.loading import choose_backend

    asked = []

    def auth_check(repo_id, *args, **kwargs):
        asked.append(repo_id)
        raise _gated_error()

    _hub_reachable(monkeypatch)
    monkeypatch.setattr(huggingface_hub, "auth_check", auth_check)
    model, reason = choose_backend("cuda", family="sd3")
    assert model == "mini-sd3" and asked == [SD35.hub_id]
    assert reason.startswith("bundled mini-sd3: sd35-medium (stabilityai/stable-diffusion-3.5-medium) is gated")
    assert SD35.licence_url in reason and "HF_TOKEN" in reason


def test_gated_repo_with_access_or_an_unclear_answer_chooses_sd35_medium(empty_offline_hub, monkeypatch):
    import huggingface_hub

    from helpers.core.loading import choose_backend

    _hub_reachable(monkeypatch)
    monkeypatch.setattr(huggingface_hub, "auth_check", lambda repo_id, *a, **k: None)  # access granted
    assert choose_backend("cuda", family="sd3") == ("sd35-medium", "real sd35-medium: CUDA and hub reachable")

    def broken(repo_id, *args, **kwargs):
        raise RuntimeError("the hub answered something else")  # not "gated": the download will say

    monkeypatch.setattr(huggingface_hub, "auth_check", broken)
    assert choose_backend("cuda", family="sd3")[0] == "sd35-medium"


def test_a_gated_error_during_download_becomes_the_sentence_that_says_how(empty_offline_hub, monkeypatch):
    from diffusers import DiffusionPipeline

    from helpers.core.gated import gated_message
    from helpers.core.loading import ModelNotAvailableError, load_pipeline

    def from_pretrained(cls, source, *args, **kwargs):
        assert source == SD35.hub_id and kwargs["text_encoder_3"] is None and kwargs["tokenizer_3"] is None
        raise _gated_error()

    _hub_reachable(monkeypatch)
    monkeypatch.setattr(DiffusionPipeline, "from_pretrained", classmethod(from_pretrained))
    with pytest.raises(ModelNotAvailableError) as caught:
        load_pipeline("text2img", model="sd35-medium", device="cpu")
    message = str(caught.value)
    assert message == gated_message(SD35)
    assert SD35.licence_url in message and "HF_TOKEN" in message


def test_sd35_medium_loads_from_the_cache_without_its_t5(offline_hub):
    from diffusers import StableDiffusion3Pipeline

    from helpers.core.loading import load_pipeline

    folder = next((offline_hub / "models--stabilityai--stable-diffusion-3.5-medium" / "snapshots").iterdir())
    index = json.loads((folder / "model_index.json").read_text())
    assert {k: index[k] for k in SD3_T5_ENTRIES} == SD3_T5_ENTRIES  # the repo names a T5 ...
    assert not (folder / "text_encoder_3").exists()  # ... that is not there

    pipe = load_pipeline("text2img", model="sd35-medium", device="cpu")
    assert type(pipe) is StableDiffusion3Pipeline
    assert pipe.text_encoder_3 is None and pipe.tokenizer_3 is None
    assert pipe.transformer.dtype == torch.float32  # a CPU always loads float32
    assert pipe.vae.use_slicing  # real models decode one picture at a time
    # SD 3.5 Medium's structure, kept by the tiny stand-in
    mmdit, vae = pipe.transformer.config, pipe.vae.config
    assert (mmdit.in_channels, mmdit.patch_size, mmdit.qk_norm) == (16, 2, "rms_norm")
    assert tuple(mmdit.dual_attention_layers) == (0,)
    assert (vae.latent_channels, vae.scaling_factor, vae.shift_factor) == (16, SD3_VAE_SCALING, SD3_VAE_SHIFT)
    assert pipe.scheduler.config.shift == SD3_SCHEDULER_SHIFT and pipe.vae_scale_factor == 8


def test_generate_on_sd35_medium_passes_clip_length_zeros_for_t5(offline_hub, monkeypatch):
    from diffusers import StableDiffusion3Pipeline

    from helpers.core.generate import generate
    from helpers.core.loading import load_pipeline

    pipe = load_pipeline("text2img", model="sd35-medium", device="cpu")
    pipe.set_progress_bar_config(disable=True)
    calls, text_tokens = [], []
    original = StableDiffusion3Pipeline.__call__

    @functools.wraps(original)  # keeps __call__'s signature, which generate reads
    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StableDiffusion3Pipeline, "__call__", spy)
    hook = pipe.transformer.register_forward_pre_hook(
        lambda module, args, kwargs: text_tokens.append(kwargs["encoder_hidden_states"].shape[1]), with_kwargs=True)
    try:
        pictures = generate(pipe, ["a red circle", "a blue square"], steps=2, guidance=4.5, seed=0,
                            width=64, height=64, cache=False)
    finally:
        hook.remove()
    assert len(pictures) == 2 and all(p.size == (64, 64) for p in pictures)
    assert len(calls) == 1 and calls[0]["max_sequence_length"] == pipe.tokenizer.model_max_length == TOKEN_LENGTH
    # each transformer call sees the CLIP tokens and as many zero "T5" tokens (not the pipeline's default 256)
    assert text_tokens and set(text_tokens) == {2 * TOKEN_LENGTH}
    again = generate(pipe, ["a red circle"], steps=2, guidance=4.5, seed=0, width=64, height=64, cache=False)
    assert list(again[0].getdata()) == list(pictures[0].getdata())  # same seed, same picture


@pytest.mark.parametrize("family", ["sd2", "SD3", ""])
def test_an_unknown_family_is_a_value_error_that_lists_the_families(family):
    from helpers.core.loading import choose_backend, load_pipeline

    with pytest.raises(ValueError, match="sd15.*sd3"):
        choose_backend("cpu", family=family)
    with pytest.raises(ValueError, match="unknown family"):
        load_pipeline("text2img", device="cpu", family=family)


def test_auto_on_cpu_loads_the_bundled_mini_sd3():
    from diffusers import StableDiffusion3Pipeline

    from helpers.core.generate import generate
    from helpers.core.loading import load_pipeline

    if not (BUNDLED_SD3_DIR / "model_index.json").is_file():
        pytest.skip(f"the bundled mini-sd3 is not built yet ({BUNDLED_SD3_DIR}): "
                    "python -m helpers.training.train_mini_sd3")
    pipe = load_pipeline("text2img", device="cpu", family="sd3")
    assert type(pipe) is StableDiffusion3Pipeline and pipe.text_encoder_3 is None
    pipe.set_progress_bar_config(disable=True)
    entry = REGISTRY["mini-sd3"]
    pictures = generate(pipe, "a large red circle at the center on a blue background", steps=entry.steps,
                        guidance=entry.guidance, seed=0, cache=False)
    side = pipe.transformer.config.sample_size * pipe.vae_scale_factor
    assert len(pictures) == 1 and pictures[0].size == (side, side)
