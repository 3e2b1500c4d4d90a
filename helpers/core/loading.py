"""Loading diffusers pipelines: the real Stable Diffusion 1.5 on a GPU, the bundled mini model otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from helpers.core.device import hub_offline, hub_reachable, pick_device, resolve_device  # noqa: F401
from helpers.core.latents import picture_side
from helpers.core.quiet_warnings import quiet_unactionable_warnings
from helpers.core.registry import FAMILIES, REGISTRY, TASKS, ModelEntry, get_model

#: Loaded base pipelines and ControlNets, keyed by (model, device, dtype); see ``clear_cache``.
_CACHE: dict[tuple[str, str, str], Any] = {}

CONTROLS: dict[str, str] = {"openpose": "controlnet-openpose", "canny": "controlnet-canny"}
BUILD_MINI_SD = "python -m helpers.training.train_mini_sd"
BUILD_MINI_CONTROLNET = "python -m helpers.training.train_controlnet"
BUILD_MINI_SD3 = "python -m helpers.training.train_mini_sd3"
#: ``default_batch``'s limits: pixels per pipeline call (four 512x512 pictures) and pictures per call.
PIXELS_PER_CALL = 4 * 512 * 512
MAX_BATCH = 32


class ModelNotAvailableError(RuntimeError):
    """A model that is neither in the local cache nor downloadable right now.

    Used by helpers.core.loading (no notebook calls it).
    """


class BundledModelMissingError(FileNotFoundError):
    """The bundled model folder under data/models/ has not been built yet.

    Used in 02_forward_diffusion.
    """


def execution_device(pipe: Any) -> torch.device:
    """Return the device ``pipe`` computes on, also after ``enable_model_cpu_offload()``.

    With offloading, ``pipe.device`` says cpu (where the parts wait) while every step runs on
    the GPU; diffusers keeps the truth in ``pipe._execution_device``.
    Used by helpers.core.loading, helpers.performance.speed (no notebook calls it).
    """
    device = getattr(pipe, "_execution_device", None)
    return torch.device(device) if device is not None else torch.device(pipe.device)


def clear_cache() -> None:
    """Return nothing; forget every loaded pipeline so the next ``load_pipeline`` loads afresh.

    Used in 05_running_stable_diffusion.
    """
    _CACHE.clear()


def is_cached(key: str) -> bool:
    """Return True if the registry model ``key`` is available without a network.

    Bundled models count as cached when their folder holds the probe file; hub models when
    the Hugging Face cache holds it.
    Used by helpers.core.loading (no notebook calls it).
    """
    entry = get_model(key)
    if entry.local_dir is not None:
        return (Path(entry.local_dir) / entry.probe_file).is_file()
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(entry.hub_id, entry.probe_file), str)


def _real_key(task: str, family: str) -> str:
    if family == "sd15" and task == "inpaint":
        return "sd15-inpaint"
    return FAMILIES[family]["real"]


def _check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}. Families: {', '.join(FAMILIES)} "
                         "(sd15: SD 1.5 or mini-sd; sd3: SD 3.5 Medium or mini-sd3).")


def choose_backend(
    device: torch.device | str | None = None, task: str = "text2img", family: str = "sd15"
) -> tuple[str, str]:
    """Return ``(model key, reason)`` for what ``load_pipeline(task, model="auto", family=family)`` would load.

    ``family`` "sd15" (SD 1.5 / mini-sd) or "sd3" (SD 3.5 Medium / mini-sd3). The real model
    needs a CUDA GPU and either a cached copy or the hub (and, for a gated model, this user's
    access: the reason then says how to get it); everything else uses the bundled model of the
    family, which runs anywhere.
    Used in 00_setup_check, 04_inside_stable_diffusion, 05_running_stable_diffusion,
    06_prompt_engineering, 07_failure_cases, 08_controlnet, 09_editing_and_personalization,
    10_responsible_generation, 11_flow_matching.
    """
    from helpers.core.gated import access_problem

    _check_family(family)
    device = resolve_device(device, check_available=False)  # a name check: this asks what a GPU would get
    bundled = FAMILIES[family]["bundled"]
    if device.type != "cuda":
        return bundled, f"bundled {bundled}: no CUDA GPU"
    real = _real_key(task, family)
    if is_cached(real):
        return real, f"real {real}: CUDA and found in the local cache"
    if hub_reachable():
        problem = access_problem(get_model(real))
        if problem is not None:
            return bundled, f"bundled {bundled}: {problem}"
        return real, f"real {real}: CUDA and hub reachable"
    return bundled, f"bundled {bundled}: hub unreachable and {real} not cached"


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}. Tasks: {', '.join(TASKS)}.")


def _ensure_available(entry: ModelEntry) -> None:
    """Raise a clear error when a model can be neither found locally nor downloaded."""
    if entry.local_dir is not None:
        if not is_cached(entry.key):
            command = {"mini-sd": BUILD_MINI_SD, "mini-sd3": BUILD_MINI_SD3}.get(entry.key, BUILD_MINI_CONTROLNET)
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
            f"helpers.load_pipeline(..., model='{FAMILIES[entry.family]['bundled']}')."
        )


def from_pretrained_kwargs(entry: ModelEntry, dtype: torch.dtype) -> dict[str, Any]:
    """Return the keyword arguments ``from_pretrained`` gets for ``entry`` at ``dtype``.

    diffusers >= 0.40 takes ``dtype=`` (not ``torch_dtype=``). The fp16 variant files are
    requested whenever the repository has them, whatever ``dtype`` is: a float32 load then
    upcasts the half-size download (2 GB for SD 1.5 instead of 4 GB) instead of fetching the
    full float32 files, and the inpainting mirror, whose float32 parts are partly ``.bin``
    only, still loads from safetensors.
    Used by helpers.core.loading (no notebook calls it).
    """
    kwargs: dict[str, Any] = {"dtype": dtype}
    if entry.local_dir is not None:
        kwargs["local_files_only"] = True
    else:
        kwargs["use_safetensors"] = True
        if entry.has_fp16_variant:
            kwargs["variant"] = "fp16"
    if entry.kind == "pipeline" and entry.family == "sd15":
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    kwargs.update({name: None for name in entry.skip_components})
    return kwargs


def pick_dtype(entry: ModelEntry, device: torch.device,
               dtype: torch.dtype | None = None) -> tuple[torch.dtype, str | None]:
    """Return ``(dtype, note)``: the dtype ``entry`` loads in on ``device``, and why if not as asked.

    Without ``dtype``: on CUDA the registry's dtype for the model (float16 for SD 1.5, float32
    for the bundled mini models, which are small and are trained in the notebooks); float32
    elsewhere. A float16 request off CUDA becomes float32, and bfloat16 on a GPU without it
    (a Colab T4) becomes float16; the note says so.
    Used by helpers.core.loading (no notebook calls it).
    """
    if dtype is None:
        wanted = getattr(torch, entry.dtype) if device.type == "cuda" else torch.float32
        return wanted, None
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(
            f"dtype must be a torch floating dtype such as torch.float16 or torch.float32, got {dtype!r}."
        )
    if dtype in (torch.float16, torch.bfloat16) and device.type != "cuda":
        return torch.float32, f"{str(dtype).replace('torch.', '')} needs a CUDA GPU, using float32"
    if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
        return torch.float16, "this GPU has no bfloat16 (a T4 does not), using float16"
    return dtype, None


def default_batch(pipe: Any, width: int | None = None, height: int | None = None) -> int:
    """Return how many pictures ``helpers.generate`` puts in one pipeline call by default.

    At most ``PIXELS_PER_CALL`` pixels per call (four 512x512 pictures, which SD 1.5 in float16
    decodes on a 15 GB T4 with room to spare) and at most 32 pictures: 32 for the bundled
    64-px model, 4 for SD 1.5 at 512 px, 1 at 1024 px.
    Used by helpers.core.generate (no notebook calls it).
    """
    side = picture_side(pipe)
    return batch_for_pixels((width or side) * (height or side))


def batch_for_pixels(pixels: int) -> int:
    """Return how many pictures of ``pixels`` pixels fit one call: the rule ``default_batch`` applies.

    Used by helpers.core.loading, helpers.gpu_budget.counting (no notebook calls it).
    """
    return max(1, min(MAX_BATCH, PIXELS_PER_CALL // pixels))


def _source(entry: ModelEntry) -> str:
    return entry.local_dir if entry.local_dir is not None else entry.hub_id


def _load_base(entry: ModelEntry, device: torch.device, dtype: torch.dtype) -> Any:
    key = (entry.key, str(device), str(dtype))
    if key not in _CACHE:
        import diffusers

        cls = getattr(diffusers, entry.pipeline_class if entry.local_dir is not None else "DiffusionPipeline")
        try:
            pipe = cls.from_pretrained(_source(entry), **from_pretrained_kwargs(entry, dtype))
        except OSError as error:
            from huggingface_hub.errors import GatedRepoError

            from helpers.core.gated import gated_message

            if entry.gated and (isinstance(error, GatedRepoError) or "gated" in str(error).lower()):
                raise ModelNotAvailableError(gated_message(entry)) from error
            raise
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
    vae_slicing: bool | None = None,
    cpu_offload: bool = False,
    family: str = "sd15",
) -> Any:
    """Return a ready diffusers pipeline for ``task`` (text2img, img2img, inpaint or controlnet).

    ``model="auto"`` loads the real SD 1.5 on a CUDA GPU when the hub is reachable or the model
    is cached, else the bundled mini-sd. Pipelines for different tasks share one set of weights
    through ``from_pipe``. ``dtype`` defaults to the registry's choice (``pick_dtype``). Prints one
    line saying what was loaded and why. Options: ``attention_slicing`` and ``vae_slicing`` save
    memory anywhere (``vae_slicing`` is on by default for real models: the VAE then decodes one
    512-px picture at a time instead of a whole batch); ``cpu_offload`` needs a GPU and is
    skipped (with a note) elsewhere. ``control`` picks the ControlNet ("openpose"/"canny").
    ``family="sd3"`` makes "auto" choose between SD 3.5 Medium and the bundled mini-sd3.
    Used in 00_setup_check, 04_inside_stable_diffusion, 05_running_stable_diffusion,
    06_prompt_engineering, 07_failure_cases, 08_controlnet, 09_editing_and_personalization,
    10_responsible_generation, 11_flow_matching.
    """
    _check_task(task)
    quiet_unactionable_warnings()
    device = resolve_device(device)  # 'gpu', or 'cuda' without a GPU: one sentence with the fix
    if model == "auto":
        model, reason = choose_backend(device, task, family)
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
    dtype, why = pick_dtype(entry, device, dtype)
    if why:
        notes.append(why)
    if vae_slicing is None:
        vae_slicing = entry.local_dir is None

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
    elif task == "inpaint" and entry.local_dir is not None:  # bundled: any latent channel count
        from helpers.core.latent_inpaint import LatentBlendInpaintPipeline

        pipe = LatentBlendInpaintPipeline.from_pipe(base)
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
            notes.append(f"model CPU offload on: runs on {execution_device(pipe)}, parts wait on the cpu")
        else:
            notes.append("cpu_offload skipped: needs a GPU")

    what = "bundled" if entry.local_dir is not None else "real"
    extra = f"; {'; '.join(notes)}" if notes else ""
    print(
        f"loaded {task}: {what} {entry.key} as {type(pipe).__name__} on {device}, "
        f"{str(dtype).replace('torch.', '')} ({reason}{extra})"
    )
    return pipe
