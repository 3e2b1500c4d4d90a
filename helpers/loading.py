"""Loading diffusers pipelines: the real Stable Diffusion 1.5 on a GPU, the bundled mini model otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from helpers.device import default_dtype, hub_offline, hub_reachable, pick_device
from helpers.models import REGISTRY, TASKS, ModelEntry, get_model

#: Loaded base pipelines and ControlNets, keyed by (model, device, dtype); see ``clear_cache``.
_CACHE: dict[tuple[str, str, str], Any] = {}

CONTROLS: dict[str, str] = {"openpose": "controlnet-openpose", "canny": "controlnet-canny"}
BUILD_MINI_SD = "python -m helpers.train_mini_sd"
BUILD_MINI_CONTROLNET = "python -m helpers.train_controlnet"


class ModelNotAvailableError(RuntimeError):
    """A model that is neither in the local cache nor downloadable right now."""


class BundledModelMissingError(FileNotFoundError):
    """The bundled model folder under data/models/ has not been built yet."""


def clear_cache() -> None:
    """Return nothing; forget every loaded pipeline so the next ``load_pipeline`` loads afresh.

    Introduced in 00_setup_check.
    """
    _CACHE.clear()


def is_cached(key: str) -> bool:
    """Return True if the registry model ``key`` is available without a network.

    Bundled models count as cached when their folder holds the probe file; hub models when
    the Hugging Face cache holds it.
    Introduced in 00_setup_check.
    """
    entry = get_model(key)
    if entry.local_dir is not None:
        return (Path(entry.local_dir) / entry.probe_file).is_file()
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(entry.hub_id, entry.probe_file), str)


def _real_key(task: str) -> str:
    return "sd15-inpaint" if task == "inpaint" else "sd15"


def choose_backend(
    device: torch.device | str | None = None, task: str = "text2img"
) -> tuple[str, str]:
    """Return ``(model key, reason)`` for what ``load_pipeline(task, model="auto")`` would load.

    Real SD 1.5 needs a CUDA GPU and either the hub or a cached copy; everything else uses
    the bundled mini-sd, which runs anywhere.
    Introduced in 00_setup_check.
    """
    device = torch.device(device) if device is not None else pick_device()
    if device.type != "cuda":
        return "mini-sd", "bundled mini-sd: no CUDA GPU"
    real = _real_key(task)
    if is_cached(real):
        return real, f"real {real}: CUDA and found in the local cache"
    if hub_reachable():
        return real, f"real {real}: CUDA and hub reachable"
    return "mini-sd", f"bundled mini-sd: hub unreachable and {real} not cached"


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}. Tasks: {', '.join(TASKS)}.")


def _ensure_available(entry: ModelEntry) -> None:
    """Raise a clear error when a model can be neither found locally nor downloaded."""
    if entry.local_dir is not None:
        if not is_cached(entry.key):
            command = BUILD_MINI_SD if entry.key == "mini-sd" else BUILD_MINI_CONTROLNET
            how = f"build it with `{command}`"
            raise BundledModelMissingError(
                f"the bundled model {entry.key!r} is missing: {entry.local_dir} has no "
                f"{entry.probe_file}; {how}."
            )
        return
    if is_cached(entry.key):
        return
    if hub_offline() or not hub_reachable():
        why = (
            "offline mode is on (HF_HUB_OFFLINE=1)"
            if hub_offline()
            else "the hub cannot be reached"
        )
        raise ModelNotAvailableError(
            f"{entry.key!r} ({entry.hub_id}) is not in the local Hugging Face cache and {why}. "
            "Get online to download it once (for example open this notebook in Google Colab with "
            "the badge at the top and pick a GPU runtime), or use the bundled model: "
            "helpers.load_pipeline(..., model='mini-sd')."
        )


def from_pretrained_kwargs(entry: ModelEntry, dtype: torch.dtype) -> dict[str, Any]:
    """Return the keyword arguments ``from_pretrained`` gets for ``entry`` at ``dtype``.

    diffusers >= 0.40 takes ``dtype=`` (not ``torch_dtype=``); the fp16 variant files are
    requested only when loading in float16 and the repository has them.
    Introduced in 00_setup_check.
    """
    kwargs: dict[str, Any] = {"dtype": dtype}
    if entry.local_dir is not None:
        kwargs["local_files_only"] = True
    else:
        kwargs["use_safetensors"] = True
        if dtype == torch.float16 and entry.has_fp16_variant:
            kwargs["variant"] = "fp16"
    if entry.kind == "pipeline":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    return kwargs


def _source(entry: ModelEntry) -> str:
    return entry.local_dir if entry.local_dir is not None else entry.hub_id


def _load_base(entry: ModelEntry, device: torch.device, dtype: torch.dtype) -> Any:
    key = (entry.key, str(device), str(dtype))
    if key not in _CACHE:
        from diffusers import DiffusionPipeline, StableDiffusionPipeline

        cls = StableDiffusionPipeline if entry.local_dir is not None else DiffusionPipeline
        pipe = cls.from_pretrained(_source(entry), **from_pretrained_kwargs(entry, dtype))
        _CACHE[key] = pipe.to(device)
    return _CACHE[key]


def _load_controlnet(control: str, bundled: bool, device: torch.device, dtype: torch.dtype) -> Any:
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}. Controls: {', '.join(CONTROLS)}.")
    entry = REGISTRY["mini-controlnet-pose"] if bundled else REGISTRY[CONTROLS[control]]
    if bundled and control != "openpose":
        raise ValueError("the bundled backend only has a pose ControlNet: use control='openpose'.")
    _ensure_available(entry)
    key = (entry.key, str(device), str(dtype))
    if key not in _CACHE:
        from diffusers import ControlNetModel

        model = ControlNetModel.from_pretrained(
            _source(entry), **from_pretrained_kwargs(entry, dtype)
        )
        _CACHE[key] = model.to(device)
    return _CACHE[key]


def load_pipeline(
    task: str = "text2img",
    model: str = "auto",
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    *,
    control: str = "openpose",
    attention_slicing: bool = False,
    vae_slicing: bool = False,
    cpu_offload: bool = False,
) -> Any:
    """Return a ready diffusers pipeline for ``task`` (text2img, img2img, inpaint or controlnet).

    ``model="auto"`` loads the real SD 1.5 on a CUDA GPU when the hub is reachable or the model
    is cached, else the bundled mini-sd. Pipelines for different tasks share one set of weights
    through ``from_pipe``. Prints one line saying what was loaded and why. Options:
    ``attention_slicing`` and ``vae_slicing`` save memory anywhere; ``cpu_offload`` needs a GPU
    and is skipped (with a note) elsewhere. ``control`` picks the ControlNet ("openpose"/"canny").
    Introduced in 00_setup_check.
    """
    _check_task(task)
    device = torch.device(device) if device is not None else pick_device()
    if model == "auto":
        model, reason = choose_backend(device, task)
    else:
        reason = "asked for by name"
    entry = get_model(model)
    if entry.kind != "pipeline":
        raise ValueError(
            f"{model!r} is a {entry.kind}, not a pipeline; load a pipeline such as 'sd15' or "
            f"'mini-sd' (for ControlNet: load_pipeline('controlnet', control='openpose'))."
        )
    if task not in entry.tasks:
        raise ValueError(f"{model!r} does not do {task!r}; it does: {', '.join(entry.tasks)}.")
    _ensure_available(entry)

    notes: list[str] = []
    wanted = dtype if dtype is not None else default_dtype(device)
    if wanted == torch.float16 and device.type != "cuda":
        notes.append("float16 needs a CUDA GPU, using float32")
        wanted = torch.float32
    dtype = wanted

    base = _load_base(entry, device, dtype)
    from diffusers import (
        AutoPipelineForImage2Image,
        AutoPipelineForInpainting,
        AutoPipelineForText2Image,
        StableDiffusionControlNetPipeline,
    )

    if task == "text2img":
        pipe = (
            base if entry.key != "instruct-pix2pix" else AutoPipelineForText2Image.from_pipe(base)
        )
    elif task == "img2img":
        pipe = (
            base if entry.key == "instruct-pix2pix" else AutoPipelineForImage2Image.from_pipe(base)
        )
    elif task == "inpaint":
        pipe = AutoPipelineForInpainting.from_pipe(base)
    else:
        controlnet = _load_controlnet(control, entry.local_dir is not None, device, dtype)
        pipe = StableDiffusionControlNetPipeline.from_pipe(base, controlnet=controlnet)
        notes.append(f"ControlNet {control}")

    if attention_slicing:
        pipe.enable_attention_slicing()
        notes.append("attention slicing on")
    if vae_slicing:
        pipe.vae.enable_slicing()
        notes.append("VAE slicing on")
    if cpu_offload:
        if device.type == "cuda":
            pipe.enable_model_cpu_offload()
            notes.append("model CPU offload on")
        else:
            notes.append("cpu_offload skipped: needs a GPU")

    what = "bundled" if entry.local_dir is not None else "real"
    extra = f"; {'; '.join(notes)}" if notes else ""
    print(
        f"loaded {task}: {what} {entry.key} as {type(pipe).__name__} on {device}, "
        f"{str(dtype).replace('torch.', '')} ({reason}{extra})"
    )
    return pipe
