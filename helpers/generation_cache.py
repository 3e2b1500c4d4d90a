"""A disk cache for ``helpers.generate``: the same call on the same model returns the same pictures at once.

The key is everything that determines the pictures: the pipeline class; every component
(the weights by content, each model's class and config, the tokenizer's vocabulary, the
scheduler's class and config, attention processors and adapter settings); the device; the
torch and diffusers versions; and the call itself (prompts, negative prompts, seed, steps,
guidance, size, batch, and extra inputs such as an init image, mask or control image by
content, strength, conditioning scale). The full key is stored beside the pictures and
compared on every read, so a picture is never returned for different parameters.

A call the cache cannot describe exactly (a callback, a generator object, custom attention
processors or forward hooks, a non-PIL output) simply runs without the cache.

Where: ``WORKBOOK_CACHE`` names the folder (default ``<repo>/.cache/generations``, which git
ignores); ``WORKBOOK_CACHE=off`` (or 0/false/no) turns it off; ``use_cache()`` changes either
at run time and ``generate(..., cache=False)`` skips it for one call (do that for a cell that
times generation or shows that a seed reproduces a picture).
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from helpers.config import REPO_ROOT

DEFAULT_DIR = REPO_ROOT / ".cache" / "generations"
_OFF = {"0", "off", "false", "no"}
FORMAT = 1  # bump when the key or the file layout changes


class Uncacheable(Exception):
    """This call cannot be described exactly by a key; run it without the cache."""


@dataclass
class _Settings:
    enabled: bool | None = None  # None: follow WORKBOOK_CACHE
    directory: Path | None = None
    hits: int = 0
    misses: int = 0
    skipped: int = 0
    last: str = ""
    fingerprints: Any = field(default_factory=weakref.WeakKeyDictionary)


_settings = _Settings()


def cache_dir() -> Path | None:
    """Return the folder the generation cache uses now, or None when the cache is off.

    Introduced in 00_setup_check.
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
    Introduced in 00_setup_check.
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
    Introduced in 00_setup_check.
    """
    folder = cache_dir()
    files = sorted(folder.glob("*/*.npz")) if folder is not None and folder.is_dir() else []
    return {"enabled": folder is not None, "directory": str(folder) if folder else None,
            "entries": len(files), "megabytes": round(sum(f.stat().st_size for f in files) / 1e6, 2),
            "hits": _settings.hits, "misses": _settings.misses, "skipped": _settings.skipped,
            "last": _settings.last}


# ----------------------------------------------------------------------------- the key


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


def describe_value(value: Any) -> Any:
    """Return a JSON-able description of one call argument; raise Uncacheable if there is none.

    Pictures, tensors and arrays are described by a hash of their content.
    Introduced in 00_setup_check.
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
                                  _tensor_bytes(value)), "device": value.device.type}
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        return {"array": _digest(str(array.dtype).encode(), repr(array.shape).encode(),
                                 array.tobytes())}
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return describe_value(value.item())
    raise Uncacheable(f"an argument of type {type(value).__name__}")


def _jsonable(config: Any) -> Any:
    return json.loads(json.dumps(dict(config), sort_keys=True, default=repr))


def _module_state(module: torch.nn.Module) -> tuple[tuple, torch.Tensor]:
    """What must stay the same for a module's weight hash to stay valid (cheap to compute).

    Each tensor's name, shape, dtype, storage address and version counter (bumped by every
    in-place change made through the tensor, e.g. an optimizer step or ``load_state_dict``),
    and each tensor's sum, which also catches changes made through ``.data``.
    """
    tensors = list(module.state_dict(keep_vars=True).items())
    layout = tuple((name, t.data_ptr(), t._version, tuple(t.shape), t.dtype) for name, t in tensors)
    with torch.no_grad():
        sums = [t.detach().sum(dtype=torch.float64) for _, t in tensors]
        probe = torch.stack(sums).cpu() if sums else torch.zeros(0, dtype=torch.float64)
    return layout, probe


def _module_behaviour(module: torch.nn.Module) -> dict[str, Any]:
    """Settings outside the weights that change a module's output; Uncacheable if unknown."""
    processors: set[str] = set()
    switches: dict[str, Any] = {}
    for name, sub in module.named_modules():
        if sub._forward_hooks or sub._forward_pre_hooks:
            raise Uncacheable(f"a forward hook on {type(module).__name__}.{name}")
        processor = getattr(sub, "processor", None)
        if processor is not None and hasattr(sub, "set_processor"):
            kind = type(processor)
            if not kind.__module__.startswith("diffusers."):
                raise Uncacheable(f"a custom attention processor {kind.__name__}")
            processors.add(f"{kind.__module__}.{kind.__qualname__}")
        for attr in ("b1", "b2", "s1", "s2"):  # FreeU
            if getattr(sub, attr, None) is not None:
                switches[f"{name}.{attr}"] = repr(getattr(sub, attr))
        if type(sub).__module__.startswith("peft."):  # LoRA adapters: scale, active, merged
            switches[f"{name}.peft"] = repr((getattr(sub, "scaling", None),
                                             getattr(sub, "active_adapters", None),
                                             getattr(sub, "merged_adapters", None),
                                             getattr(sub, "disable_adapters", None)))
    return {"processors": sorted(processors), "switches": switches}


def _module_fingerprint(module: torch.nn.Module) -> dict[str, Any]:
    layout, probe = _module_state(module)
    known = _settings.fingerprints.get(module)
    if known is None or known[0] != layout or not torch.equal(known[1], probe):
        h = hashlib.sha256()
        for name, tensor in module.state_dict(keep_vars=True).items():
            h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            h.update(_tensor_bytes(tensor))
        known = (layout, probe, h.hexdigest())
        _settings.fingerprints[module] = known
    config = getattr(module, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        config = config.to_dict()
    kind = type(module)
    return {"class": f"{kind.__module__}.{kind.__qualname__}", "weights": known[2],
            "config": _jsonable(config) if config is not None else None,
            "training": module.training, **_module_behaviour(module)}


def _tokenizer_fingerprint(tokenizer: Any) -> dict[str, Any]:
    size = len(tokenizer)
    known = _settings.fingerprints.get(tokenizer) if _weakrefable(tokenizer) else None
    if known is None or known[0] != size:
        vocab = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False).encode()
        known = (size, _digest(vocab))
        if _weakrefable(tokenizer):
            _settings.fingerprints[tokenizer] = known
    return {"class": type(tokenizer).__qualname__, "vocab": known[1],
            "max_length": tokenizer.model_max_length}


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


def describe_component(component: Any) -> Any:
    """Return a JSON-able fingerprint of one pipeline component (model, tokenizer, scheduler...).

    Introduced in 00_setup_check.
    """
    if component is None or isinstance(component, (bool, int, float, str)):
        return component
    if isinstance(component, torch.nn.Module):
        return _module_fingerprint(component)
    if hasattr(component, "get_vocab") and hasattr(component, "model_max_length"):
        return _tokenizer_fingerprint(component)
    config = getattr(component, "config", None)
    if config is not None:  # schedulers (a FrozenDict config)
        return {"class": type(component).__qualname__, "config": _jsonable(config)}
    if hasattr(component, "to_dict"):  # image processors
        return {"class": type(component).__qualname__, "config": _jsonable(component.to_dict())}
    raise Uncacheable(f"a pipeline component of type {type(component).__name__}")


def describe_pipeline(pipe: Any) -> dict[str, Any]:
    """Return a JSON-able fingerprint of ``pipe``: its class, device and every component.

    Introduced in 00_setup_check.
    """
    import diffusers

    if torch.nn.modules.module._global_forward_hooks or torch.nn.modules.module._global_forward_pre_hooks:
        raise Uncacheable("a global forward hook")
    components = getattr(pipe, "components", None)
    if not isinstance(components, dict):
        raise Uncacheable(f"{type(pipe).__name__} has no components")
    kind = type(pipe)
    return {"pipeline": f"{kind.__module__}.{kind.__qualname__}",
            "device": str(getattr(pipe, "device", "cpu")),
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__},
            "components": {name: describe_component(c) for name, c in sorted(components.items())}}


def make_key(pipe: Any, call: dict[str, Any]) -> tuple[str, str]:
    """Return ``(hex digest, full key as JSON)`` for generating with ``pipe`` and ``call``.

    Raises Uncacheable when the call or the pipeline cannot be described exactly.
    Introduced in 00_setup_check.
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


def load(digest: str, key: str) -> list[Image.Image] | None:
    """Return the cached pictures for ``digest`` if the stored key equals ``key``, else None.

    Introduced in 00_setup_check.
    """
    folder = cache_dir()
    if folder is None:
        return None
    path = _path(folder, digest)
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            modes = [str(m) for m in stored["modes"]]
            return [Image.fromarray(stored[f"image_{i}"], mode=mode) if mode in ("RGB", "L", "RGBA")
                    else Image.fromarray(stored[f"image_{i}"]).convert(mode)
                    for i, mode in enumerate(modes)]
    except (OSError, KeyError, ValueError):  # missing, half-written or from another format
        return None


def store(digest: str, key: str, images: list[Image.Image]) -> Path | None:
    """Return the file the pictures were written to (None when the cache is off).

    Written to a temporary name and renamed, so a reader never sees half a file.
    Introduced in 00_setup_check.
    """
    folder = cache_dir()
    if folder is None:
        return None
    path = _path(folder, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"image_{i}": np.asarray(im) for i, im in enumerate(images)}
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
    np.savez_compressed(partial, key=np.array(key), modes=np.array([im.mode for im in images]),
                        **arrays)
    os.replace(partial, path)
    return path


def cached_call(pipe: Any, call: dict[str, Any], run: Any, use: bool | None) -> list[Image.Image]:
    """Return the pictures for ``call``: from the cache when stored, else ``run()`` (then stored).

    ``use=False`` skips the cache for this call; None follows the global setting.
    Introduced in 00_setup_check.
    """
    if use is False or cache_dir() is None:
        _settings.last = "cache off"
        return run()
    try:
        digest, key = make_key(pipe, call)
    except Uncacheable as reason:
        _settings.skipped += 1
        _settings.last = f"not cached: {reason}"
        return run()
    images = load(digest, key)
    if images is not None:
        _settings.hits += 1
        _settings.last = f"hit {digest[:12]}"
        return images
    images = run()
    _settings.misses += 1
    if all(isinstance(im, Image.Image) for im in images):
        store(digest, key, images)
        _settings.last = f"stored {digest[:12]}"
    else:
        _settings.last = "not cached: the pipeline did not return PIL images"
    return images
