"""load_pipeline: the real path through a tiny offline hub cache, the bundled path, and every error."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import helpers
from helpers.core import loading
from helpers.core.registry import REGISTRY


def _generate(pipe, **kwargs) -> np.ndarray:
    out = pipe(
        "a red circle",
        num_inference_steps=2,
        guidance_scale=2.0,
        generator=torch.Generator("cpu").manual_seed(0),
        output_type="np",
        **kwargs,
    )
    return out.images[0]


@pytest.fixture
def bundled(tiny_pipeline_dir, tmp_path, monkeypatch):
    """Point the registry's mini-sd at the tiny pipeline and mini-controlnet-pose at an empty dir."""
    monkeypatch.setitem(
        REGISTRY,
        "mini-sd",
        dataclasses.replace(REGISTRY["mini-sd"], local_dir=str(tiny_pipeline_dir)),
    )
    monkeypatch.setitem(
        REGISTRY,
        "mini-controlnet-pose",
        dataclasses.replace(REGISTRY["mini-controlnet-pose"], local_dir=str(tmp_path / "absent")),
    )
    monkeypatch.setattr(loading, "_CACHE", {})
    return tiny_pipeline_dir


def test_real_sd15_loads_offline_from_cache_and_generates(offline_hub, capsys):
    pipe = helpers.load_pipeline(model="sd15", device="cpu")
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1
    assert "real sd15" in printed[0] and "float32" in printed[0] and "asked for" in printed[0]
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert pipe.unet.dtype == torch.float32
    assert pipe.safety_checker is None
    first, second = _generate(pipe), _generate(pipe)
    assert first.shape == (16, 16, 3)
    np.testing.assert_array_equal(first, second)  # same seed, same picture
    assert first.std() > 0.01  # not a blank image


def test_fp16_on_cpu_falls_back_to_float32_and_says_so(offline_hub, capsys):
    pipe = helpers.load_pipeline(model="sd15", device="cpu", dtype=torch.float16)
    assert pipe.unet.dtype == torch.float32
    assert "float16 needs a CUDA GPU, using float32" in capsys.readouterr().out


def test_fp16_kwargs_load_the_fp16_variant_files(hub_cache_dir, tmp_path, monkeypatch):
    """The Colab (CUDA) kwargs must resolve the *.fp16.safetensors files of the cached repo."""
    from diffusers import DiffusionPipeline

    from conftest import point_hub_at

    entry = REGISTRY["sd15"]
    kwargs = loading.from_pretrained_kwargs(entry, torch.float16)
    assert kwargs["variant"] == "fp16" and kwargs["dtype"] == torch.float16
    assert kwargs["use_safetensors"] is True and "torch_dtype" not in kwargs
    # A cache with only the fp16 files: loading succeeds only if the variant is used.
    cache = tmp_path / "hub"
    shutil.copytree(
        hub_cache_dir / ("models--" + entry.hub_id.replace("/", "--")),
        cache / ("models--" + entry.hub_id.replace("/", "--")),
    )
    removed = [p for p in cache.rglob("*.safetensors") if ".fp16." not in p.name]
    assert len(removed) == 3  # unet, vae, text_encoder
    for path in removed:
        path.unlink()
    point_hub_at(monkeypatch, cache)
    pipe = DiffusionPipeline.from_pretrained(entry.hub_id, **kwargs)
    assert pipe.unet.dtype == torch.float16 and pipe.text_encoder.dtype == torch.float16


def test_fp16_variant_is_asked_for_at_every_dtype():
    """A float32 load (05's timing row) must not download SD 1.5's 4 GB float32 files."""
    for key, entry in REGISTRY.items():
        for dtype in (torch.float16, torch.float32):
            kwargs = loading.from_pretrained_kwargs(entry, dtype)
            if entry.local_dir is not None:
                assert kwargs["local_files_only"] and "variant" not in kwargs, key
            else:
                assert kwargs["use_safetensors"] is True, key
                assert kwargs.get("variant") == ("fp16" if entry.has_fp16_variant else None), key
    assert loading.from_pretrained_kwargs(REGISTRY["sd15"], torch.float32)["requires_safety_checker"] is False


def test_float32_inpaint_loads_when_float32_parts_are_only_bin(tmp_path, monkeypatch, capsys):
    """The inpainting mirror keeps some float32 parts only as .bin: the fp16 safetensors serve float32."""
    from conftest import build_tiny_pipeline, point_hub_at, snapshot_dir

    cache = tmp_path / "hub"
    folder = snapshot_dir(cache, REGISTRY["sd15-inpaint"].hub_id)
    tiny = build_tiny_pipeline(in_channels=9)
    tiny.save_pretrained(folder, safe_serialization=False)  # float32 as .bin (diffusers' parts)
    tiny.to(torch.float16).save_pretrained(folder, variant="fp16")  # fp16 as safetensors
    for path in folder.rglob("*.safetensors"):  # transformers 5 always writes safetensors: drop it
        if ".fp16." not in path.name:
            path.unlink()
    assert len(list(folder.rglob("*.bin"))) == 2  # unet and vae in float32 only as .bin
    point_hub_at(monkeypatch, cache)
    pipe = helpers.load_pipeline("inpaint", model="sd15-inpaint", device="cpu", dtype=torch.float32)
    assert pipe.unet.dtype == torch.float32 and pipe.unet.config.in_channels == 9


def test_registry_dtype_decides_on_cuda():
    """On a GPU SD 1.5 loads in float16 but the bundled models stay float32 (09 trains them)."""
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert loading.pick_dtype(REGISTRY["sd15"], cuda) == (torch.float16, None)
    assert loading.pick_dtype(REGISTRY["mini-sd"], cuda) == (torch.float32, None)
    assert loading.pick_dtype(REGISTRY["mini-controlnet-pose"], cuda) == (torch.float32, None)
    assert loading.pick_dtype(REGISTRY["sd15"], cpu) == (torch.float32, None)
    dtype, note = loading.pick_dtype(REGISTRY["sd15"], cpu, torch.float16)
    assert dtype == torch.float32 and "needs a CUDA GPU" in note
    with pytest.raises(ValueError, match="torch floating dtype"):
        loading.pick_dtype(REGISTRY["sd15"], cpu, "float16")


def test_bfloat16_on_a_t4_becomes_float16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    dtype, note = loading.pick_dtype(REGISTRY["sd15"], torch.device("cuda"), torch.bfloat16)
    assert dtype == torch.float16 and "T4" in note


def test_load_pipeline_on_cuda_asks_for_the_registry_dtype(bundled, monkeypatch):
    """The bundled model requested on CUDA is loaded in float32, not float16 (issue: fp16 training crash)."""
    asked = {}

    class Stop(Exception):
        pass

    def fake_load_base(entry, device, dtype):
        asked.update(device=device, dtype=dtype)
        raise Stop

    monkeypatch.setattr(loading, "_load_base", fake_load_base)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # device="cuda" is checked first
    with pytest.raises(Stop):
        helpers.load_pipeline("text2img", model="mini-sd", device="cuda")
    assert asked == {"device": torch.device("cuda"), "dtype": torch.float32}


def test_vae_slicing_is_on_for_real_models_by_default(offline_hub, bundled):
    assert helpers.load_pipeline(model="sd15", device="cpu").vae.use_slicing is True
    assert helpers.load_pipeline(model="mini-sd", device="cpu").vae.use_slicing is False


def test_default_batch_keeps_a_call_within_four_512px_pictures():
    from conftest import build_tiny_pipeline

    tiny = build_tiny_pipeline()  # 16-px pictures
    assert loading.default_batch(tiny) == 32
    assert loading.default_batch(tiny, 512, 512) == 4
    assert loading.default_batch(tiny, 768, 512) == 2
    assert loading.default_batch(tiny, 1024, 1024) == 1
    assert loading.default_batch(tiny, 64, 64) == 32


def test_execution_device_reads_past_cpu_offload():
    class Offloaded:
        device = torch.device("cpu")
        _execution_device = torch.device("cuda", 0)

    class Plain:
        device = torch.device("cpu")

    assert loading.execution_device(Offloaded()) == torch.device("cuda", 0)
    assert loading.execution_device(Plain()) == torch.device("cpu")


def test_tasks_share_one_set_of_weights(offline_hub):
    base = helpers.load_pipeline("text2img", model="sd15", device="cpu")
    img2img = helpers.load_pipeline("img2img", model="sd15", device="cpu")
    inpaint = helpers.load_pipeline("inpaint", model="sd15", device="cpu")
    assert helpers.load_pipeline("text2img", model="sd15", device="cpu") is base
    assert type(img2img).__name__ == "StableDiffusionImg2ImgPipeline"
    assert type(inpaint).__name__ == "StableDiffusionInpaintPipeline"
    assert img2img.unet is base.unet and inpaint.vae is base.vae
    start = Image.new("RGB", (16, 16), (200, 30, 30))
    out = _generate(img2img, image=start, strength=0.5)
    assert out.shape == (16, 16, 3)


def test_inpaint_real_uses_the_inpainting_repo(offline_hub, capsys):
    pipe = helpers.load_pipeline("inpaint", model="sd15-inpaint", device="cpu")
    assert pipe.unet.config.in_channels == 9
    assert "sd15-inpaint" in capsys.readouterr().out
    mask = Image.new("L", (16, 16), 0)
    mask.paste(255, (4, 4, 12, 12))
    out = _generate(pipe, image=Image.new("RGB", (16, 16), "white"), mask_image=mask)
    assert out.shape == (16, 16, 3)


def test_controlnet_real_pairs_sd15_with_openpose(offline_hub, capsys):
    pipe = helpers.load_pipeline("controlnet", model="sd15", device="cpu")
    assert type(pipe).__name__ == "StableDiffusionControlNetPipeline"
    assert type(pipe.controlnet).__name__ == "ControlNetModel"
    assert "ControlNet openpose" in capsys.readouterr().out
    out = _generate(pipe, image=Image.new("RGB", (16, 16), "black"))
    assert out.shape == (16, 16, 3)


def test_controlnet_canny_not_cached_is_a_clear_error(offline_hub):
    with pytest.raises(helpers.ModelNotAvailableError, match="controlnet-canny"):
        helpers.load_pipeline("controlnet", model="sd15", device="cpu", control="canny")


def test_real_model_offline_and_not_cached(empty_offline_hub):
    with pytest.raises(helpers.ModelNotAvailableError) as info:
        helpers.load_pipeline(model="sd15", device="cpu")
    message = str(info.value)
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in message
    assert "HF_HUB_OFFLINE" in message and "Colab" in message and "model='mini-sd'" in message


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError) as info:
        helpers.load_pipeline(model="sd-2-1", device="cpu")
    for key in ("sd15", "mini-sd", "controlnet-openpose", "lcm-lora-sd15"):
        assert key in str(info.value)


def test_unknown_task_lists_tasks():
    with pytest.raises(ValueError, match="text2img, img2img, inpaint, controlnet"):
        helpers.load_pipeline("txt2img", device="cpu")


def test_non_pipeline_model_is_refused():
    with pytest.raises(ValueError, match="controlnet, not a pipeline"):
        helpers.load_pipeline(model="controlnet-canny", device="cpu")
    with pytest.raises(ValueError, match="does not do 'text2img'"):
        helpers.load_pipeline("text2img", model="sd15-inpaint", device="cpu")


def test_auto_on_cpu_loads_the_bundled_model(bundled, capsys):
    pipe = helpers.load_pipeline(device="cpu")
    line = capsys.readouterr().out.strip()
    assert "bundled mini-sd" in line and "no CUDA GPU" in line and "\n" not in line
    assert pipe.unet.config.sample_size == 8
    img2img = helpers.load_pipeline("img2img", device="cpu")
    assert img2img.unet is pipe.unet  # from_pipe, not a second load
    assert _generate(pipe).shape == (16, 16, 3)


def test_bundled_missing_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setitem(
        REGISTRY,
        "mini-sd",
        dataclasses.replace(REGISTRY["mini-sd"], local_dir=str(tmp_path / "nope")),
    )
    with pytest.raises(helpers.BundledModelMissingError, match="python -m helpers.training.train_mini_sd"):
        helpers.load_pipeline(device="cpu")


def test_bundled_controlnet_missing_names_its_command(bundled):
    with pytest.raises(helpers.BundledModelMissingError, match="python -m helpers.training.train_controlnet"):
        helpers.load_pipeline("controlnet", device="cpu")


def test_gpu_only_option_is_skipped_on_cpu(bundled, capsys):
    pipe = helpers.load_pipeline(
        device="cpu", cpu_offload=True, vae_slicing=True, attention_slicing=True
    )
    line = capsys.readouterr().out
    assert "cpu_offload skipped: needs a GPU" in line
    assert "VAE slicing on" in line and "attention slicing on" in line
    assert pipe.vae.use_slicing is True


def test_choose_backend(offline_hub, empty_offline_hub):
    # empty_offline_hub was applied last, so nothing is cached now.
    assert helpers.choose_backend("cpu") == ("mini-sd", "bundled mini-sd: no CUDA GPU")
    model, reason = helpers.choose_backend("cuda")
    assert model == "mini-sd" and "hub unreachable" in reason


def test_choose_backend_uses_cache_on_cuda(offline_hub):
    assert helpers.choose_backend("cuda") == (
        "sd15",
        "real sd15: CUDA and found in the local cache",
    )
    assert helpers.choose_backend("cuda", task="inpaint")[0] == "sd15-inpaint"
    assert helpers.is_cached("sd15") and helpers.is_cached("controlnet-openpose")
    assert not helpers.is_cached("controlnet-canny")


def test_choose_backend_on_cuda_with_the_hub_reachable(empty_offline_hub, monkeypatch):
    monkeypatch.setattr(loading, "hub_reachable", lambda: True)
    assert helpers.choose_backend("cuda") == ("sd15", "real sd15: CUDA and hub reachable")


def test_bundled_controlnet_once_built(bundled, tmp_path, monkeypatch, capsys):
    from conftest import build_tiny_controlnet

    folder = tmp_path / "mini-controlnet-pose"
    build_tiny_controlnet().save_pretrained(folder)
    monkeypatch.setitem(
        REGISTRY,
        "mini-controlnet-pose",
        dataclasses.replace(REGISTRY["mini-controlnet-pose"], local_dir=str(folder)),
    )
    pipe = helpers.load_pipeline("controlnet", device="cpu")
    assert type(pipe).__name__ == "StableDiffusionControlNetPipeline"
    assert "bundled mini-sd" in capsys.readouterr().out
    assert pipe.unet is helpers.load_pipeline(device="cpu").unet
    assert _generate(pipe, image=Image.new("RGB", (16, 16), "black")).shape == (16, 16, 3)
    with pytest.raises(ValueError, match="only has a pose ControlNet"):
        helpers.load_pipeline("controlnet", device="cpu", control="canny")
