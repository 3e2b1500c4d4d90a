"""A disk cache for ``helpers.generate``: the same call on the same model returns the same pictures at once.

The key is everything that determines the pictures: the pipeline class and its own settings
(``vae_scale_factor``, image processors); every component (the weights, buffers included, by
content; each model's class and config; every setting stored on the model or its layers, such
as VAE tiling and slicing and tile sizes, FreeU, LoRA scales, attention processors and their
slice size; the tokenizer's vocabulary and settings; the scheduler's class, config and the
tensors it computed from that config, such as ``alphas_cumprod``, by content); the device the
pipeline computes on; the torch and diffusers versions; and the call itself (prompts,
negative prompts, seed, steps, guidance, size, batch, and extra inputs such as an init image,
mask or control image by content, strength, conditioning scale). The full key is stored beside
the pictures and compared on every read, so a picture is never returned for different
parameters.

A call the cache cannot describe exactly simply runs without the cache (counted in
``cache_info()["skipped"]``, and ``cache_info()["last"]`` says why): a callback, a generator
object, custom attention processors or forward hooks, a non-PIL output, or a method that was
replaced (``pipe.vae.decode = ...`` on one object, or a class's method patched from outside
diffusers, torch and transformers).

The cache is never fatal: an entry that cannot be read (truncated, empty, damaged) counts as a
miss and is written again; a folder that cannot be written (read-only, a file, a full disk)
gives one warning per folder and session, and generation carries on without saving.

Where: ``WORKBOOK_CACHE`` names the folder (default ``<repo>/.cache/generations``, which git
ignores); ``WORKBOOK_CACHE=off`` (or 0/false/no) turns it off; ``use_cache()`` changes either
at run time and ``generate(..., cache=False)`` skips it for one call (do that for a cell that
times generation or shows that a seed reproduces a picture).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import threading
import types
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from helpers.core.config import REPO_ROOT
from helpers.core.weights_hash import hash_tensors, tensor_bytes

DEFAULT_DIR = REPO_ROOT / ".cache" / "generations"
_OFF = {"0", "off", "false", "no"}
FORMAT = 2  # bump when the key or the file layout changes
# packages whose code may define a component's methods; code from anywhere else is not keyed
TRUSTED = ("diffusers", "torch", "transformers", "peft", "accelerate", "huggingface_hub",
           "tokenizers", "safetensors")


class Uncacheable(Exception):
    """This call cannot be described exactly by a key; run it without the cache.

    Used by helpers.core.generation_cache (no notebook calls it).
    """


class CacheWarning(UserWarning):
    """The generation cache cannot write its folder; pictures are still generated, not saved.

    Used by helpers.core.generation_cache (no notebook calls it).
    """


@dataclass
class _Settings:
    enabled: bool | None = None  # None: follow WORKBOOK_CACHE
    directory: Path | None = None
    hits: int = 0
    misses: int = 0
    skipped: int = 0
    last: str = ""
    fingerprints: Any = field(default_factory=weakref.WeakKeyDictionary)
    unwritable: dict[str, str] = field(default_factory=dict)  # folder -> why (warned once)


_settings = _Settings()


def cache_dir() -> Path | None:
    """Return the folder the generation cache uses now, or None when the cache is off.

    Used by helpers.core.generation_cache, tools/run_notebooks.py (no notebook calls it).
    """
    if _settings.enabled is False:
        return None
    if _settings.directory is not None:
        return _settings.directory
    value = os.environ.get("WORKBOOK_CACHE", "").strip()
    if value.lower() in _OFF:
        return None if _settings.enabled is None else DEFAULT_DIR
    return Path(value).expanduser() if value else DEFAULT_DIR


def use_cache(enabled: bool | None = True, directory: str | Path | None = None) -> Path | None:
    """Return the cache folder now in use (None if off) after turning the generation cache on or off.

    ``directory`` moves it (for example to a shared drive); ``use_cache(False)`` turns it off
    for the rest of the session, whatever ``WORKBOOK_CACHE`` says; ``use_cache(None)`` goes
    back to following ``WORKBOOK_CACHE``.
    Used by no notebook, helper or tool; exported as helpers.use_cache.
    """
    if enabled is not None and not isinstance(enabled, bool):
        raise ValueError(f"use_cache() takes True, False or None, got {enabled!r}.")
    _settings.enabled = enabled
    _settings.directory = Path(directory).expanduser() if directory is not None else None
    return cache_dir()


def cache_info() -> dict[str, Any]:
    """Return the cache's folder, whether it is on, its size on disk, and this session's counts.

    ``hits``, ``misses`` and ``skipped`` (calls that could not be cached) count calls to
    ``helpers.generate`` since the kernel started; ``last`` says what the last call did.
    Used by no notebook, helper or tool; exported as helpers.cache_info.
    """
    folder = cache_dir()
    sizes = []
    try:
        files = sorted(folder.glob("*/*.npz")) if folder is not None and folder.is_dir() else []
    except OSError:  # an unreadable folder holds nothing we can use
        files = []
    for file in files:
        if not file.name.endswith(".partial.npz"):
            try:
                sizes.append(file.stat().st_size)
            except OSError:  # replaced or removed by another writer meanwhile
                pass
    return {"enabled": folder is not None, "directory": str(folder) if folder else None,
            "entries": len(sizes), "megabytes": round(sum(sizes) / 1e6, 2),
            "hits": _settings.hits, "misses": _settings.misses, "skipped": _settings.skipped,
            "last": _settings.last}


# ----------------------------------------------------------------------------- the key


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def describe_value(value: Any) -> Any:
    """Return a JSON-able description of one call argument; raise Uncacheable if there is none.

    Pictures, tensors and arrays are described by a hash of their content.
    Used by helpers.core.generation_cache (no notebook calls it).
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, (list, tuple)):
        return [describe_value(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise Uncacheable("a dict argument with non-string keys")
        return {k: describe_value(value[k]) for k in sorted(value)}
    if isinstance(value, Image.Image):
        return {"image": _digest(value.mode.encode(), repr(value.size).encode(), value.tobytes())}
    if isinstance(value, torch.Tensor):
        return {"tensor": _digest(str(value.dtype).encode(), repr(tuple(value.shape)).encode(),
                                  tensor_bytes(value)), "device": value.device.type}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"array": _digest(str(array.dtype).encode(), repr(array.shape).encode(),
                                 array.tobytes())}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return describe_value(value.item())
    raise Uncacheable(f"an argument of type {type(value).__name__}")


_PATHS = {"_name_or_path", "name_or_path"}  # where a model was loaded from: the weights are keyed


def _jsonable(config: Any) -> Any:
    config = {k: v for k, v in dict(config).items() if k not in _PATHS}
    return json.loads(json.dumps(config, sort_keys=True, default=repr))


_SCALARS = (bool, int, float, str, type(None), torch.dtype, torch.device)


def _setting(value: Any) -> bool:
    """Whether ``value`` is a plain setting (a scalar, or a tuple, list or dict of scalars)."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, (tuple, list)):
        return all(isinstance(v, _SCALARS) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and isinstance(v, _SCALARS) for k, v in value.items())
    return False


def _frozen(value: Any) -> Any:
    """A copy of a setting that later in-place changes (``scaling["style"] = 0.5``) leave alone."""
    if isinstance(value, dict):
        return ("dict", *sorted(value.items()))
    return ("list", *value) if isinstance(value, list) else value


def _state_digest(value: Any) -> str:
    """A digest of a scheduler attribute: tensors and arrays by content, settings by value."""
    if isinstance(value, torch.Tensor):
        return _digest(str(value.dtype).encode(), repr(tuple(value.shape)).encode(),
                       tensor_bytes(value))
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return _digest(str(array.dtype).encode(), repr(array.shape).encode(), array.tobytes())
    if isinstance(value, (list, tuple)):
        return _digest(*(_state_digest(v).encode() for v in value))
    if _setting(value):
        return repr(value)
    return type(value).__qualname__


# --- replaced methods


def _functions(value: Any) -> tuple:
    """The plain functions behind a class attribute (method, static/class method, property)."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        return tuple(f for f in (value.fget, value.fset, value.fdel) if f is not None)
    if isinstance(value, functools.partial):
        value = value.func
    return (value,) if isinstance(value, types.FunctionType) else ()


def _from(module: str | None, packages: tuple[str, ...]) -> bool:
    return bool(module) and module.split(".", 1)[0] in packages


def _check_classes(classes: set[type]) -> None:
    """Raise Uncacheable if a method of these classes (or their bases) comes from outside TRUSTED.

    A class's own methods are trusted when the class belongs to a trusted package or to this
    workbook's helpers; so a method patched onto ``AutoencoderKL`` from a notebook, or a
    subclass written in a notebook (which may be redefined under the same name), is refused.
    """
    seen: set[type] = set()
    for kind in classes:
        for cls in kind.__mro__:
            if cls in seen or cls is object:
                continue
            seen.add(cls)
            own = cls.__module__ if _from(cls.__module__, (*TRUSTED, "helpers")) else None
            for name, value in vars(cls).items():
                for function in _functions(value):
                    module = function.__module__
                    if not (_from(module, TRUSTED) or (own is not None and module == own)):
                        raise Uncacheable(f"a replaced method {cls.__name__}.{name} (from {module})")


def _offload_hooks(obj: Any, values: dict[str, Any]) -> list[str]:
    """accelerate's offload hooks on a module (they move weights, not pixels); Uncacheable otherwise."""
    hook = values["_hf_hook"]
    hooks = getattr(hook, "hooks", None) or [hook]
    names = [f"{type(h).__module__}.{type(h).__qualname__}" for h in hooks]
    wrapper = values.get("forward")
    inner = getattr(wrapper, "func", wrapper)
    old = getattr(values.get("_old_forward"), "__func__", None)
    if (not all(_from(name, ("accelerate",)) for name in names)
            or not _from(getattr(inner, "__module__", None), ("accelerate",))
            or old is not getattr(type(obj), "forward", None)):
        raise Uncacheable(f"a replaced method {type(obj).__name__}.forward (a hook {names})")
    return names


def _replaced(obj: Any, values: dict[str, Any]) -> str | None:
    """The name of an attribute of ``obj`` that shadows a method of its class, if any."""
    for name, value in values.items():
        if type(value) not in _PLAIN and _shadows(obj, name, value, values):
            return name
    return None


def _shadows(obj: Any, name: str, value: Any, values: dict[str, Any]) -> bool:
    """Whether ``value``, stored on ``obj`` as ``name``, replaces a method of its class.

    Not when it is that very method bound to ``obj`` (what accelerate leaves after removing a
    hook), nor accelerate's offload wrapper of ``forward`` (checked by ``_offload_hooks``).
    """
    own = getattr(type(obj), name, _ABSENT)
    return (own is not _ABSENT and callable(value) and not isinstance(value, (torch.nn.Module, type))
            and not (isinstance(value, types.MethodType) and value.__self__ is obj
                     and value.__func__ is own)
            and not (name == "forward" and "_hf_hook" in values))


_ABSENT = object()
_PLAIN = frozenset({bool, int, float, str, type(None), dict, set, list, tuple,
                    collections.OrderedDict})


# --- components


def _walk(module: torch.nn.Module) -> dict[str, Any]:
    """One pass over a model's layers: what besides the weights decides its output.

    Returns every parameter and buffer (non-persistent ones too, which ``state_dict`` leaves
    out), the attention processors, every plain public setting on every layer (``use_tiling``,
    ``tile_sample_min_size``, FreeU's ``b1``, LoRA ``scaling``...), accelerate's offload hooks
    and the layers' classes. Raises Uncacheable for forward hooks, custom attention processors
    and replaced methods.
    """
    tensors: list[tuple[str, torch.Tensor]] = []
    processors: set[str] = set()
    settings: list[tuple] = []
    hooks: set[str] = set()
    classes: set[type] = set()
    for name, sub in module.named_modules():
        values = sub.__dict__
        if values.get("_forward_hooks") or values.get("_forward_pre_hooks"):
            raise Uncacheable(f"a forward hook on {type(module).__name__}.{name}")
        kind = type(sub)
        classes.add(kind)
        for attr in ("_parameters", "_buffers"):
            tensors.extend((f"{name}.{k}", t) for k, t in values[attr].items() if t is not None)
        if "_hf_hook" in values:
            hooks.update(_offload_hooks(sub, values))
        for attr, value in values.items():
            if type(value) in _PLAIN:
                if attr[0] != "_" and attr not in _PATHS and _setting(value):
                    settings.append((name, attr, _frozen(value)))
            elif _shadows(sub, attr, value, values):
                where = f" on {type(module).__name__}.{name}" if name else ""
                raise Uncacheable(f"a replaced method {kind.__name__}.{attr}{where}")
        processor = values.get("processor")
        if processor is not None and hasattr(sub, "set_processor"):
            kind = type(processor)
            if not kind.__module__.startswith("diffusers."):
                raise Uncacheable(f"a custom attention processor {kind.__name__}")
            own = sorted((k, v) for k, v in vars(processor).items() if _setting(v))
            processors.add(f"{kind.__module__}.{kind.__qualname__}{own if own else ''}")
        if kind.__module__.startswith("peft."):  # LoRA adapters: active, merged, disabled
            settings.append((name, "peft", repr((getattr(sub, "active_adapters", None),
                                                 getattr(sub, "disable_adapters", None)))))
    return {"tensors": tensors, "processors": sorted(processors), "settings": settings,
            "hooks": sorted(hooks), "classes": classes}


def _module_state(tensors: list[tuple[str, torch.Tensor]]) -> tuple[tuple, torch.Tensor]:
    """What must stay the same for a module's weight hash to stay valid (cheap to compute).

    Each tensor's name, shape, dtype, storage address and version counter (bumped by every
    in-place change made through the tensor, e.g. an optimizer step or ``load_state_dict``),
    and each tensor's sum, which also catches changes made through ``.data``.
    """
    layout = tuple((name, t.data_ptr(), t._version, tuple(t.shape), t.dtype) for name, t in tensors)
    with torch.no_grad():
        sums = [t.detach().sum(dtype=torch.float64) for _, t in tensors]
        probe = torch.stack(sums).cpu() if sums else torch.zeros(0, dtype=torch.float64)
    return layout, probe


def _module_fingerprint(module: torch.nn.Module, classes: set[type]) -> dict[str, Any]:
    walk = _walk(module)
    classes.update(walk["classes"])
    if any(t.is_meta for _, t in walk["tensors"]):
        raise Uncacheable(f"{type(module).__name__} has weights on the meta device (sequential offload)")
    layout, probe = _module_state(walk["tensors"])
    known = _settings.fingerprints.get(module)
    if known is None or known["layout"] != layout or not torch.equal(known["probe"], probe):
        weights = hash_tensors(hashlib.sha256(), walk["tensors"]).hexdigest()
        known = {"layout": layout, "probe": probe, "weights": weights, "settings": None}
        _settings.fingerprints[module] = known
    if known["settings"] != walk["settings"]:  # a list compare is much cheaper than hashing it
        known["settings"] = walk["settings"]
        known["settings digest"] = _digest(repr(walk["settings"]).encode())
    config = getattr(module, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        config = config.to_dict()
    kind = type(module)
    return {"class": f"{kind.__module__}.{kind.__qualname__}", "weights": known["weights"],
            "config": _jsonable(config) if config is not None else None,
            "training": module.training, "processors": walk["processors"],
            "settings": known["settings digest"], "hooks": walk["hooks"]}


def _tokenizer_fingerprint(tokenizer: Any) -> dict[str, Any]:
    size = len(tokenizer)
    known = _settings.fingerprints.get(tokenizer) if _weakrefable(tokenizer) else None
    if known is None or known[0] != size:
        vocab = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode()
        known = (size, _digest(vocab))
        if _weakrefable(tokenizer):
            _settings.fingerprints[tokenizer] = known
    settings = {k: repr(v) for k, v in sorted(vars(tokenizer).items())
                if k[0] != "_" and k not in _PATHS and isinstance(v, _SCALARS)}
    return {"class": type(tokenizer).__qualname__, "vocab": known[1],
            "max_length": tokenizer.model_max_length, "settings": settings}


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


_PER_CALL: dict[tuple[type, str], frozenset[str] | str] = {}


def _per_call_attributes(scheduler: Any, config_text: str) -> frozenset[str]:
    """The attributes a scheduler of this class and config sets while sampling (not keyed).

    Found once per class and config by watching a fresh copy: which attributes do
    ``set_timesteps``, ``set_begin_index``, ``scale_model_input`` and two ``step`` calls
    assign or change in place? Those change with every generation; everything else is
    computed from the config at construction (``betas``, ``alphas_cumprod``...) and goes into
    the key by content.
    """
    kind = type(scheduler)
    known = _PER_CALL.get((kind, config_text))
    if known is None:
        assigned: set[str] = set()

        def record(self: Any, name: str, value: Any) -> None:
            assigned.add(name)
            kind.__setattr__(self, name, value)

        try:
            fresh = kind.from_config(scheduler.config)
            before = {name: _state_digest(value) for name, value in vars(fresh).items()}
            fresh.__class__ = type(f"Watched{kind.__name__}", (kind,), {"__setattr__": record})
            fresh.set_timesteps(4, device="cpu")
            if hasattr(fresh, "set_begin_index"):
                fresh.set_begin_index(0)
            sample = torch.zeros(1, 4, 8, 8)
            generator = torch.Generator("cpu").manual_seed(0)
            for t in list(fresh.timesteps)[:2]:
                model_input = fresh.scale_model_input(sample, t)
                try:
                    fresh.step(torch.zeros_like(model_input), t, sample, generator=generator)
                except TypeError:  # a step without a generator argument
                    fresh.step(torch.zeros_like(model_input), t, sample)
            changed = {name for name, value in vars(fresh).items()  # lists changed in place
                       if before.get(name) != _state_digest(value)}
            known = frozenset(assigned | changed | {"_internal_dict"})
        except Exception as error:  # a scheduler this probe cannot drive
            known = f"a scheduler {kind.__name__} whose state the cache cannot tell apart ({error})"
        _PER_CALL[(kind, config_text)] = known
    if isinstance(known, str):
        raise Uncacheable(known)
    return known


def _scheduler_fingerprint(scheduler: Any) -> dict[str, Any]:
    config = _jsonable(scheduler.config)
    config_text = json.dumps(config, sort_keys=True)
    per_call = _per_call_attributes(scheduler, config_text)
    state = {name: _state_digest(value) for name, value in sorted(vars(scheduler).items())
             if name not in per_call}
    return {"class": type(scheduler).__qualname__, "config": config,
            "state": _digest(json.dumps(state, sort_keys=True).encode())}


def describe_component(component: Any, classes: set[type] | None = None) -> Any:
    """Return a JSON-able fingerprint of one pipeline component (model, tokenizer, scheduler...).

    ``classes`` (if given) collects the classes whose methods ``describe_pipeline`` checks.
    Used by helpers.core.generation_cache (no notebook calls it).
    """
    classes = set() if classes is None else classes
    if component is None or isinstance(component, (bool, int, float, str)):
        return component
    if isinstance(component, torch.nn.Module):
        return _module_fingerprint(component, classes)
    classes.add(type(component))
    replaced = _replaced(component, vars(component)) if hasattr(component, "__dict__") else None
    if replaced is not None:
        raise Uncacheable(f"a replaced method {type(component).__name__}.{replaced}")
    if hasattr(component, "get_vocab") and hasattr(component, "model_max_length"):
        return _tokenizer_fingerprint(component)
    config = getattr(component, "config", None)
    if config is not None and hasattr(component, "set_timesteps"):
        return _scheduler_fingerprint(component)
    if config is not None:  # image processors and other configured parts
        return {"class": type(component).__qualname__, "config": _jsonable(config)}
    if hasattr(component, "to_dict"):
        return {"class": type(component).__qualname__, "config": _jsonable(component.to_dict())}
    raise Uncacheable(f"a pipeline component of type {type(component).__name__}")


def _pipeline_settings(pipe: Any, components: dict[str, Any], classes: set[type]) -> dict[str, Any]:
    """The pipeline's own public settings and image processors (not among its components)."""
    values = vars(pipe) if hasattr(pipe, "__dict__") else {}
    replaced = _replaced(pipe, values)
    if replaced is not None:
        raise Uncacheable(f"a replaced method {type(pipe).__name__}.{replaced}")
    settings: dict[str, Any] = {}
    for name, value in sorted(values.items()):
        if name[0] == "_" or name in components:
            continue
        if _setting(value):
            settings[name] = repr(value)
        elif hasattr(value, "config") and not isinstance(value, torch.nn.Module):
            settings[name] = describe_component(value, classes)
    return settings


def describe_pipeline(pipe: Any) -> dict[str, Any]:
    """Return a JSON-able fingerprint of ``pipe``: its class, device, settings and every component.

    Used by helpers.core.generation_cache (no notebook calls it).
    """
    import diffusers

    if torch.nn.modules.module._global_forward_hooks or torch.nn.modules.module._global_forward_pre_hooks:
        raise Uncacheable("a global forward hook")
    components = getattr(pipe, "components", None)
    if not isinstance(components, dict):
        raise Uncacheable(f"{type(pipe).__name__} has no components")
    classes: set[type] = {type(pipe)}
    described = {name: describe_component(c, classes) for name, c in sorted(components.items())}
    settings = _pipeline_settings(pipe, components, classes)
    _check_classes(classes)
    offloaded = any(c.get("hooks") for c in described.values() if isinstance(c, dict))
    device = getattr(pipe, "_execution_device", None) if offloaded else None  # see loading.py
    kind = type(pipe)
    return {"pipeline": f"{kind.__module__}.{kind.__qualname__}",
            "device": str(device if device is not None else getattr(pipe, "device", "cpu")),
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__},
            "settings": settings, "components": described}


def make_key(pipe: Any, call: dict[str, Any]) -> tuple[str, str]:
    """Return ``(hex digest, full key as JSON)`` for generating with ``pipe`` and ``call``.

    Raises Uncacheable when the call or the pipeline cannot be described exactly.
    Used by helpers.core.generation_cache (no notebook calls it).
    """
    if call.get("output_type", "pil") != "pil":
        raise Uncacheable("output_type is not 'pil'")
    key = {"format": FORMAT, "model": describe_pipeline(pipe),
           "call": {name: describe_value(value) for name, value in sorted(call.items())}}
    text = json.dumps(key, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest(), text


# ----------------------------------------------------------------------------- the store


def _path(folder: Path, digest: str) -> Path:
    return folder / digest[:2] / f"{digest}.npz"


_CHANNELS = {"L": 2, "RGB": 3, "RGBA": 3}


def _decode(array: np.ndarray, mode: str) -> Image.Image:
    """One stored picture back as PIL; ValueError if the array cannot be that picture."""
    if array.dtype != np.uint8 or array.ndim != _CHANNELS.get(mode, array.ndim) or min(array.shape) < 1:
        raise ValueError(f"a stored {mode} picture of shape {array.shape} and type {array.dtype}")
    if mode in ("RGB", "RGBA") and array.shape[2] != len(mode):
        raise ValueError(f"a stored {mode} picture with {array.shape[2]} channels")
    if mode in _CHANNELS:
        return Image.fromarray(array, mode=mode)
    return Image.fromarray(array).convert(mode)


def _read(path: Path, key: str) -> tuple[list[Image.Image] | None, str]:
    """The pictures stored at ``path`` under ``key`` and "", or None and why not."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None, "another key"
            modes = [str(m) for m in stored["modes"]]
            return [_decode(stored[f"image_{i}"], mode) for i, mode in enumerate(modes)], ""
    except (FileNotFoundError, NotADirectoryError):
        return None, "missing"
    except Exception as error:  # truncated, empty or damaged: whatever numpy, zipfile, zlib raise
        return None, f"unreadable ({type(error).__name__})"


def load(digest: str, key: str) -> list[Image.Image] | None:
    """Return the cached pictures for ``digest`` if the stored key equals ``key``, else None.

    A missing, unreadable or damaged entry is None too (a miss), never an error.
    Used only by tests/test_generation_cache.py (no notebook, helper or tool calls it).
    """
    folder = cache_dir()
    return None if folder is None else _read(_path(folder, digest), key)[0]


def _write(path: Path, key: str, images: list[Image.Image]) -> None:
    """Write one entry to ``path`` (a new file)."""
    arrays = {f"image_{i}": np.asarray(im) for i, im in enumerate(images)}
    np.savez_compressed(path, key=np.array(key), modes=np.array([im.mode for im in images]),
                        **arrays)


def _why_unwritable(folder: Path, error: OSError) -> str:
    for place in (folder, *folder.parents):  # the nearest part of the path that exists
        if place.exists():
            if not place.is_dir():
                return "it is a file, not a folder" if place == folder else f"{place} is a file"
            break
    return error.strerror.lower() if error.strerror else str(error) or type(error).__name__


def store(digest: str, key: str, images: list[Image.Image]) -> Path | None:
    """Return the file the pictures were written to (None when the cache is off or cannot write).

    Written to a temporary name and renamed, so a reader never sees half a file. A folder
    that cannot be written gives one CacheWarning per session and is not tried again.
    Used by helpers.core.generation_cache (no notebook calls it).
    """
    folder = cache_dir()
    if folder is None or str(folder) in _settings.unwritable:
        return None
    path = _path(folder, digest)
    partial = path.with_name(f"{path.stem}.{os.getpid()}-{threading.get_ident()}.partial.npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(partial, key, images)
        os.replace(partial, path)
    except OSError as error:
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass
        why = _why_unwritable(folder, error)
        _settings.unwritable[str(folder)] = why
        warnings.warn(
            f"The generation cache cannot write to {folder} ({why}), so new pictures are "
            "generated but not saved; point WORKBOOK_CACHE to a writable folder, or turn the "
            "cache off with WORKBOOK_CACHE=off or helpers.use_cache(False).",
            CacheWarning, stacklevel=2)
        return None
    return path


def cached_call(pipe: Any, call: dict[str, Any], run: Any, use: bool | None) -> list[Image.Image]:
    """Return the pictures for ``call``: from the cache when stored, else ``run()`` (then stored).

    ``use=False`` skips the cache for this call; None follows the global setting.
    Used by helpers.core.generate (no notebook calls it).
    """
    folder = None if use is False else cache_dir()
    if folder is None:
        _settings.last = "cache off"
        return run()
    try:
        digest, key = make_key(pipe, call)
    except Uncacheable as reason:
        _settings.skipped += 1
        _settings.last = f"not cached: {reason}"
        return run()
    except Exception as error:  # a pipeline this module cannot describe: never fatal, never stale
        _settings.skipped += 1
        _settings.last = f"not cached: the cache could not describe this call ({error!r})"
        return run()
    images, why = _read(_path(folder, digest), key)
    if images is not None:
        _settings.hits += 1
        _settings.last = f"hit {digest[:12]}"
        return images
    images = run()
    _settings.misses += 1
    if not all(isinstance(im, Image.Image) for im in images):
        _settings.last = "not cached: the pipeline did not return PIL images"
    elif store(digest, key, images) is None:
        _settings.last = (f"miss {digest[:12]}, not stored: cannot write to {folder} "
                          f"({_settings.unwritable.get(str(folder), 'cache off')})")
    else:
        _settings.last = f"stored {digest[:12]}" + (f", replacing an {why} entry"
                                                     if why.startswith("unreadable") else "")
    return images
