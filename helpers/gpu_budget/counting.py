"""Counting the GPU work a notebook asks for: model calls, their batch and size, and what was loaded.

``count_work()`` is a context manager: while it is open, every call of the models that matter
(U-Net, ControlNet, VAE decode and encode, CLIP text encoder, CLIP score model, safety checker; for
SD 3: the MMDiT transformer, the two CLIP text encoders, the 16-channel VAE) is written down as a
``Call``: what ran, on whose weights, how many pictures or prompts at once, at what size, and which
models were loaded at that moment. It patches those classes' methods
and puts them back when it closes; models loaded while it is open are tagged with their registry
key. ``estimate(calls, costs)`` turns the calls into T4 seconds and peak GiB with per-unit costs
(``data/t4_costs.json``).

Sizes are Stable Diffusion 1.5's: a call at the pipeline's default size counts as 512 px (so the
tests' tiny stand-ins, 16 px with a VAE that scales by 2, count as SD 1.5 at 512 px), latents twice
the default side as 1024 px, and a picture of another size handed to the VAE as its own size. SD 3
models (family "sd3" in the registry) count at their own size: latent side x the VAE's scale, so the
tests' tiny SD 3, which keeps SD 3.5 Medium's scale 8 and 1024-px default, counts as SD 3.5 Medium at
the sizes a notebook asks for. The bundled models (mini-sd, mini-sd3, mini-controlnet-pose) are
not SD 1.5: their calls are charged the CPU time they take on the machine that counts them (all
threads summed, so other jobs on the machine do not inflate it), an upper bound for a T4 that
assumes a T4 is no slower than that CPU.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from helpers.core.registry import REGISTRY

#: SD 1.5's picture side; a call at a pipeline's default size is counted at this side.
SD_SIDE = 512
#: The weights the bundled models are loaded in (float32, whatever the device).
BUNDLED = frozenset(key for key, entry in REGISTRY.items() if entry.local_dir is not None)
#: Hub models of the SD 3 family: their calls count at their own pixel size and by SD 3's units.
SD3_KEYS = frozenset(key for key, entry in REGISTRY.items() if entry.family == "sd3" and entry.local_dir is None)
#: SD 3's two CLIP text encoders, by their attribute in StableDiffusion3Pipeline: the unit each call is.
SD3_TEXT_UNITS: dict[str, str] = {"text_encoder": "clip_l_encode", "text_encoder_2": "clip_g_encode"}

#: The key given to a model made in the notebook that matches no loaded one (08 builds a ControlNet
#: from SD's U-Net): it costs what a loaded model of its kind costs.
NEW_MODEL_KEY: dict[str, str] = {"ControlNetModel": "controlnet", "UNet2DConditionModel": "sd15"}
#: The key prefix of any other model that matches no loaded one (09's textual inversion changes a copy of
#: the bundled text encoder's vocabulary): charged its own parameters and CPU time.
MADE_HERE = "made here: "


@dataclass
class Call:
    """One model call: the unit of work, whose weights, how many at once, and what was loaded.

    Used by helpers.gpu_budget.{counting, cuda_only, estimate} (no notebook calls it).
    """

    unit: str  # unet_eval, ..., vae_decode, text_encode; SD 3: transformer_eval, clip_l_encode, sd3_vae_decode, ...
    model: str  # registry key of the weights, e.g. "sd15"
    batch: int  # latents, pictures or prompts in this one call
    width: int  # in SD 1.5 pixels (SD 3 models: their own pixels; the bundled models: their own latents or pixels)
    height: int
    resident: tuple[str, ...] = ()  # registry keys of every model loaded at the time, once per load
    sliced: bool = False  # VAE slicing on: the VAE takes one picture at a time
    seconds: float = 0.0  # CPU time of this call (all threads) on the machine that counted it
    float32: bool = False  # run in float32 (a T4 has no float32 tensor cores; see helpers.gpu_budget.estimate)

    @property
    def bundled(self) -> bool:
        """True for the bundled models and models made in the notebook, costed by their measured time."""
        return self.model in BUNDLED or self.model.startswith(MADE_HERE)


@dataclass
class WorkLog:
    """Every ``Call`` made while ``count_work()`` was open, and what was loaded.

    Used by helpers.gpu_budget.{counting, estimate}, tools/gpu_budget.py (no notebook calls it).
    """

    calls: list[Call] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)  # registry keys, in the order they were loaded
    bundled_weights_gib: dict[str, float] = field(default_factory=dict)  # measured from parameters

    def groups(self) -> list[dict[str, Any]]:
        """Return the calls grouped by everything but their time: one row per kind of call, with ``calls``.

        Enough to estimate again with other costs (``from_groups``) without running anything.
        """
        rows: dict[tuple, dict[str, Any]] = {}
        for call in self.calls:
            key = (call.unit, call.model, call.batch, call.width, call.height, call.resident, call.sliced,
                   call.float32)
            row = rows.setdefault(key, {**asdict(call), "resident": list(call.resident), "calls": 0, "seconds": 0.0})
            row["calls"] += 1
            row["seconds"] += call.seconds
        return list(rows.values())

    @classmethod
    def from_groups(cls, groups: list[dict[str, Any]], bundled_weights_gib: dict[str, float]) -> WorkLog:
        """Return a WorkLog with the calls of ``groups`` (from ``groups()``), each group's time shared evenly."""
        calls = []
        for row in groups:
            fields = {k: v for k, v in row.items() if k not in ("calls", "seconds", "resident")}
            calls += [Call(**fields, resident=tuple(row["resident"]), seconds=row["seconds"] / row["calls"])
                      for _ in range(row["calls"])]
        return cls(calls=calls, bundled_weights_gib=dict(bundled_weights_gib))

    def summary(self) -> dict[str, Any]:
        """Return the counts per unit, model and size: calls, items (latents, pictures, prompts), seconds here."""
        rows: dict[str, dict[str, float]] = {}
        for call in self.calls:
            size = f" {call.width}x{call.height}" if call.width else ""
            row = rows.setdefault(f"{call.unit} {call.model}{size}", {"calls": 0, "items": 0, "seconds": 0.0})
            row["calls"] += 1
            row["items"] += call.batch
            row["seconds"] += call.seconds
        return rows


def source_key(source: Any) -> str | None:
    """Return the registry key whose hub id or bundled folder ``source`` names, or None.

    Used by helpers.gpu_budget.counting (no notebook calls it).
    """
    text = str(source)
    for key, entry in REGISTRY.items():
        if entry.hub_id and (text == entry.hub_id or "models--" + entry.hub_id.replace("/", "--") in text):
            return key
        if entry.local_dir is not None:
            folder = Path(entry.local_dir).resolve()
            try:
                path = Path(text).resolve()
            except (OSError, ValueError):
                continue
            if path == folder or folder in path.parents:
                return key
    return None


class _Tags:
    """Which registry key each loaded model belongs to (weakly held), grouped by load, and its geometry.

    A group is one load (a pipeline's parts, or one model); a copy of a loaded model, or a model
    made in the notebook, is a group of its own with the key of the loaded model it matches.
    """

    def __init__(self) -> None:
        self.key: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> (key, group)
        self.role: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module -> its pipeline attribute
        self.groups = 0
        self.geometry: dict[str, tuple[int, int]] = {}  # key -> (default latent side, VAE scale)

    def tag(self, obj: Any, key: str) -> list[torch.nn.Module]:
        parts = ({name: m for name, m in getattr(obj, "components", {}).items() if isinstance(m, torch.nn.Module)}
                 if not isinstance(obj, torch.nn.Module) else {"": obj})
        self.groups += 1
        for name, module in parts.items():
            self.key.setdefault(module, (key, self.groups))
            if name:
                self.role.setdefault(module, name)
        denoiser = getattr(obj, "unet", None)
        if denoiser is None:
            denoiser = getattr(obj, "transformer", None)  # SD 3: an MMDiT
        sample_size = getattr(getattr(denoiser, "config", None), "sample_size", None)
        if sample_size is not None and key not in self.geometry:
            self.geometry[key] = (int(sample_size), int(getattr(obj, "vae_scale_factor", 8)))
        return list(parts.values())

    def of(self, module: torch.nn.Module, made: dict[str, float]) -> str:
        """The key of ``module``; a model matching no loaded one is ``MADE_HERE`` + its class, and its
        parameters' GiB go into ``made`` (it is charged its own size and CPU time, like a bundled one)."""
        if module not in self.key:
            config = getattr(module, "config", None)
            key = next((k for other, (k, _) in list(self.key.items())
                        if type(other) is type(module) and getattr(other, "config", None) == config),
                       NEW_MODEL_KEY.get(type(module).__name__, MADE_HERE + type(module).__name__))
            if key.startswith(MADE_HERE):
                size = sum(p.numel() * p.element_size() for p in module.parameters()) / 2**30
                made[key] = made.get(key, 0.0) + size
            self.tag(module, key)
        return self.key[module][0]

    def resident(self) -> tuple[str, ...]:
        """Every loaded model's key, once per load that still has a live part."""
        return tuple(sorted(key for key, _ in set(self.key.values())))

    def sd_side(self, side: int, key: str, latent: bool) -> int:
        """A latent or pixel side of a call on ``key``'s weights, in SD 1.5 pixels.

        Latent sides count relative to the pipeline's default (the U-Net's ``sample_size`` is SD 1.5's
        64, i.e. 512 px; twice that is 1024 px), as the notebooks write them (``sample_size * k``).
        A picture handed to the VAE counts as 512 px at the pipeline's default side and as its own
        size otherwise (a 64-px render is 64 px on any model). SD 3 models count at their own size
        (latent side x the VAE's scale).
        """
        if key in SD3_KEYS:
            return side * self.geometry.get(key, (0, 8))[1] if latent else side
        default, scale = self.geometry.get(key) or self.geometry.get("sd15") or (SD_SIDE // 8, 8)
        if latent:
            return round(side * SD_SIDE / default)
        return SD_SIDE if side == default * scale else side


def _unet_unit(key: str, training: bool) -> str:
    if training:
        return "unet_train_step"
    return {"sd15-inpaint": "unet_inpaint_eval", "instruct-pix2pix": "unet_instruct_eval"}.get(key, "unet_eval")


def _vae_unit(key: str, direction: str) -> str:
    return f"sd3_vae_{direction}" if key in SD3_KEYS else f"vae_{direction}"


def _first_tensor(args: tuple, kwargs: dict, *names: str) -> torch.Tensor | None:
    for name in names:
        if isinstance(kwargs.get(name), torch.Tensor):
            return kwargs[name]
    return next((a for a in args if isinstance(a, torch.Tensor)), None)


@contextlib.contextmanager
def count_work() -> Iterator[WorkLog]:
    """Yield a ``WorkLog`` that records every counted model call until the block ends.

    Patches the counted classes' methods and ``from_pretrained`` (to tag loaded models with their
    registry key) and restores them on exit, also after an error. Costs nothing but the
    bookkeeping: the models run as they would.
    Used only by tests/test_gpu_budget.py (no notebook, helper or tool calls it).
    """
    from diffusers import (
        AutoencoderKL,
        ControlNetModel,
        DiffusionPipeline,
        ModelMixin,
        SD3Transformer2DModel,
        UNet2DConditionModel,
    )
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPModel, CLIPTextModel, CLIPTextModelWithProjection, PreTrainedModel

    from helpers.core import loading
    from helpers.core.latents import picture_side

    log, tags = WorkLog(), _Tags()
    patches: list[tuple[type, str, Any]] = []
    depth = {"load": 0, "call": 0}

    def patch(cls: Any, name: str, make: Any) -> None:
        original = cls.__dict__[name]
        patches.append((cls, name, original))
        setattr(cls, name, make(original))

    def loader(original: Any) -> Any:
        function = original.__func__

        def from_pretrained(cls, source, *args, **kwargs):
            depth["load"] += 1
            try:
                obj = function(cls, source, *args, **kwargs)
            finally:
                depth["load"] -= 1
            key = source_key(source)
            if key is not None and depth["load"] == 0:
                modules = tags.tag(obj, key)
                log.loaded.append(key)
                if key in BUNDLED:
                    size = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
                    log.bundled_weights_gib[key] = log.bundled_weights_gib.get(key, 0.0) + size / 2**30
            return obj

        return classmethod(from_pretrained)

    def counted(unit_of: Any) -> Any:
        def make(original: Any) -> Any:
            def method(self, *args, **kwargs):
                if depth["call"]:  # inside another counted call (CLIPModel runs a CLIPTextModel): its cost
                    return original(self, *args, **kwargs)
                key = tags.of(self, log.bundled_weights_gib)
                unit, batch, width, height, sliced = unit_of(self, key, args, kwargs)
                start = time.process_time()
                depth["call"] += 1
                try:
                    return original(self, *args, **kwargs)
                finally:
                    depth["call"] -= 1
                    log.calls.append(Call(unit=unit, model=key, batch=batch, width=width, height=height,
                                          resident=tags.resident(), sliced=sliced,
                                          seconds=time.process_time() - start))
            method.__wrapped__ = original
            return method
        return make

    def sized_call(unit: Any, *names: str, latent: bool) -> Any:
        """``unit(key)`` per picture or latent, at the call's size (latents or pixels, in SD pixels)."""
        def unit_of(self, key, args, kwargs):
            b, _, h, w = _first_tensor(args, kwargs, *names).shape
            if key in BUNDLED:
                return unit(key), b, w, h, False
            return (unit(key), b, tags.sd_side(w, key, latent=latent), tags.sd_side(h, key, latent=latent),
                    bool(getattr(self, "use_slicing", False)))
        return unit_of

    def per_item(unit: Any, *names: str) -> Any:
        """``unit`` (a name, or a function of the module) per prompt or picture in the call."""
        def unit_of(self, key, args, kwargs):
            x = _first_tensor(args, kwargs, *names)
            name = unit(self) if callable(unit) else unit
            return name, int(x.shape[0]) if x is not None else 1, 0, 0, False
        return unit_of

    def sd3_text_unit(module: Any) -> str:
        """SD 3's CLIP-L or CLIP-G, by its place in the pipeline (a lone one: text_encode)."""
        return SD3_TEXT_UNITS.get(tags.role.get(module, ""), "text_encode")

    def sd_default_batch(original: Any) -> Any:
        """generate()'s default batch as SD 1.5 would get it: the stand-ins' sizes read as SD 1.5's."""
        def default_batch(pipe, width=None, height=None):
            unet = getattr(pipe, "unet", None)
            key = tags.key.get(unet, (None,))[0] if isinstance(unet, torch.nn.Module) else None
            if key is None or key in BUNDLED:
                return original(pipe, width, height)
            scale, side = int(getattr(pipe, "vae_scale_factor", 8)), picture_side(pipe)
            pixels = (tags.sd_side((width or side) // scale, key, latent=True)
                      * tags.sd_side((height or side) // scale, key, latent=True))
            return loading.batch_for_pixels(pixels)
        return default_batch

    patch(loading, "default_batch", sd_default_batch)
    patch(DiffusionPipeline, "from_pretrained", loader)
    patch(ModelMixin, "from_pretrained", loader)
    patch(PreTrainedModel, "from_pretrained", loader)
    patch(UNet2DConditionModel, "forward",
          counted(sized_call(lambda key: _unet_unit(key, torch.is_grad_enabled()), "sample", latent=True)))
    patch(ControlNetModel, "forward", counted(sized_call(lambda key: "controlnet_eval", "sample", latent=True)))
    patch(SD3Transformer2DModel, "forward",
          counted(sized_call(lambda key: "transformer_train_step" if torch.is_grad_enabled() else "transformer_eval",
                             "hidden_states", latent=True)))
    patch(AutoencoderKL, "decode", counted(sized_call(lambda key: _vae_unit(key, "decode"), "z", latent=True)))
    patch(AutoencoderKL, "encode", counted(sized_call(lambda key: _vae_unit(key, "encode"), "x", latent=False)))
    patch(CLIPTextModel, "forward", counted(per_item("text_encode", "input_ids")))
    patch(CLIPTextModelWithProjection, "forward", counted(per_item(sd3_text_unit, "input_ids")))
    patch(CLIPModel, "forward", counted(per_item("clip_score", "pixel_values")))
    patch(StableDiffusionSafetyChecker, "forward", counted(per_item("safety_check", "clip_input")))
    try:
        yield log
    finally:
        for cls, name, original in reversed(patches):
            setattr(cls, name, original)
