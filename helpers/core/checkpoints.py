"""Checkpoints of the small models the notebooks train: saved by the notebook's own code, loaded back.

A checkpoint is one safetensors file, ``data/checkpoints/<name>.safetensors``
(``config.CHECKPOINT_DIR``): each module's state dict under ``<module>.`` keys, any extra tensors the
notebook wants back (loss histories, snapshots) under ``extra.<key>``, and ``info`` as JSON in the
file's metadata: how many steps, how many seconds, on what machine, and the scores measured with it.

A notebook trains live for a short stretch, then ``use_checkpoint`` either loads the weights that the
same cell trained for the full length, or, with ``from_scratch``, keeps what it has just trained
(and saves it when ``WORKBOOK_SAVE_CHECKPOINTS=1``, which is how ``make checkpoints`` makes them).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from helpers.core import config
from helpers.core.weights_hash import hash_tensors

EXTRA = "extra."
MAKE = "make checkpoints"


def checkpoint_path(name: str, folder: Path | None = None) -> Path:
    """Return where checkpoint ``name`` lives: ``<folder or config.CHECKPOINT_DIR>/<name>.safetensors``.

    Used by helpers.core.checkpoints, tools/make_checkpoints.py (no notebook calls it).
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"checkpoint name {name!r} must be a plain file name such as '01_gan'")
    return Path(folder or config.CHECKPOINT_DIR) / f"{name}.safetensors"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (data/checkpoints/x.safetensors)."""
    try:
        return path.resolve().relative_to(config.REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def weights_digest(modules: dict[str, nn.Module]) -> str:
    """Return a short sha256 of ``modules``' weights (names, dtypes, shapes and values), 16 hex digits.

    A checkpoint trained on top of a model (a LoRA, a learnt word) records the digest of that
    model, so that it is never loaded onto another one.
    Used by helpers.core.checkpoints, helpers.training.train_hands_lora (no notebook calls it).
    """
    named = ((f"{module}.{key}", value) for module in sorted(modules)
             for key, value in modules[module].state_dict().items())
    return hash_tensors(hashlib.sha256(), named).hexdigest()[:16]


def machine() -> dict[str, Any]:
    """Return what a time depends on: CPU count, torch threads, 1-minute load average, torch, date.

    Used by helpers.core.checkpoints (no notebook calls it).
    """
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "load_average": None if load is None else round(load, 1),
            "processor": platform.machine(), "torch": torch.__version__,
            "date": datetime.date.today().isoformat()}


def save_checkpoint(name: str, modules: dict[str, nn.Module], info: dict[str, Any],
                    tensors: dict[str, torch.Tensor] | None = None,
                    folder: Path | None = None) -> Path:
    """Return the path of checkpoint ``name`` after writing ``modules``' weights, tensors and info.

    ``info`` is anything JSON can hold (steps, seconds, scores); ``machine()`` is added under
    ``"machine"``. Weights are saved exactly (float32 stays float32), so a notebook that loads the
    checkpoint computes what the notebook that trained it computed.

    Used by helpers.core.checkpoints (no notebook calls it).
    """
    path = checkpoint_path(name, folder)
    flat = {f"{module}.{key}": value.detach().cpu().contiguous()
            for module, net in modules.items() for key, value in net.state_dict().items()}
    flat |= {f"{EXTRA}{key}": torch.as_tensor(value).detach().cpu().contiguous()
             for key, value in (tensors or {}).items()}
    full = {"machine": machine(), **info, "modules": sorted(modules)}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file(flat, str(partial), metadata={"info": json.dumps(full, ensure_ascii=False)})
    partial.replace(path)
    return path


def read_info(name: str, folder: Path | None = None) -> dict[str, Any]:
    """Return the ``info`` of checkpoint ``name`` without loading its tensors.

    Used by helpers.core.checkpoints, tools/make_checkpoints.py (no notebook calls it).
    """
    with safe_open(str(checkpoint_path(name, folder)), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("info", "{}"))


def update_info(name: str, fields: dict[str, Any], folder: Path | None = None) -> dict[str, Any]:
    """Return checkpoint ``name``'s ``info`` after merging ``fields`` into it; tensors unchanged.

    Used by tools/make_checkpoints.py (no notebook calls it).
    """
    path = checkpoint_path(name, folder)
    info = read_info(name, folder) | fields
    partial = path.with_suffix(".partial")
    save_file(load_file(str(path)), str(partial),
              metadata={"info": json.dumps(info, ensure_ascii=False)})
    partial.replace(path)
    return info


def loaded_sentence(path: Path, info: dict[str, Any]) -> str:
    """Return the Korean sentence printed on loading: what was loaded, from where, how to retrain.

    Used by helpers.core.checkpoints (no notebook calls it).
    """
    made = info.get("machine", {})
    how = f"{made.get('cpus', '?')}코어 CPU, torch 스레드 {made.get('torch_threads', '?')}개로 " \
          f"{info.get('seconds', 0):.0f}초"
    return (f"체크포인트(checkpoint)를 불러왔습니다: {_shown(path)} — 이 노트북의 같은 코드로 "
            f"{info.get('steps', 0):,}걸음 학습한 가중치({how})이며, 처음부터 직접 학습하려면 설정 셀의 "
            f"from_scratch를 True로 바꾸세요(또는 WORKBOOK_FROM_SCRATCH=1).")


def load_checkpoint(name: str, modules: dict[str, nn.Module], folder: Path | None = None,
                    quiet: bool = False) -> dict[str, Any]:
    """Return ``{"info", "tensors", "path"}`` after loading checkpoint ``name`` into ``modules``.

    Every module's state dict must match exactly (same layers, same sizes). ``tensors`` holds the
    extra tensors saved with it. Prints ``loaded_sentence`` unless ``quiet``.

    Used by helpers.core.checkpoints (no notebook calls it).
    """
    path = checkpoint_path(name, folder)
    if not path.exists():
        raise FileNotFoundError(
            f"체크포인트가 없습니다: {_shown(path)}. 설정 셀에서 from_scratch = True로 직접 학습하거나 "
            f"'{MAKE}'로 만드세요. (No checkpoint at {path}; train from scratch or run {MAKE}.)")
    flat = load_file(str(path))
    info = read_info(name, folder)
    for module, net in modules.items():
        prefix = f"{module}."
        state = {key[len(prefix):]: value for key, value in flat.items() if key.startswith(prefix)}
        if not state:
            raise KeyError(f"checkpoint {_shown(path)} holds no module {module!r}; "
                           f"it holds {info.get('modules', '?')}")
        net.load_state_dict(state, strict=True)
    tensors = {key[len(EXTRA):]: value for key, value in flat.items() if key.startswith(EXTRA)}
    if not quiet:
        print(loaded_sentence(path, info))
    return {"info": info, "tensors": tensors, "path": path}


def use_checkpoint(name: str, modules: dict[str, nn.Module], *, from_scratch: bool, steps: int,
                   seconds: float, tensors: dict[str, torch.Tensor] | None = None,
                   base: dict[str, nn.Module] | None = None,
                   save: bool | None = None, folder: Path | None = None) -> dict[str, Any]:
    """Return ``{"info", "tensors", "path"}`` of the full-length training, loaded or just done.

    ``from_scratch=True``: the cell has just trained ``steps`` steps in ``seconds``; its ``modules``
    and ``tensors`` are the result, and they are saved as checkpoint ``name`` when ``save`` (default:
    ``WORKBOOK_SAVE_CHECKPOINTS=1``, as ``make checkpoints`` sets it). ``from_scratch=False``: the
    cell trained only a live stretch; the checkpoint of ``steps`` steps is loaded into ``modules`` and
    its tensors replace ``tensors``. A checkpoint of another length is refused, saying what to do.
    ``base``: the frozen modules the training started from (09's LoRA and learnt word sit on top of
    mini-sd); their ``weights_digest`` is saved, and a checkpoint made on other base weights (after
    the bundled model was retrained) is refused the same way.

    Used in 01_gan_vae_recap, 03_reverse_diffusion, 09_editing_and_personalization,
    11_flow_matching.
    """
    digest = None if base is None else weights_digest(base)
    if from_scratch:
        info = {"steps": steps, "seconds": round(seconds, 1)}
        if digest is not None:
            info["base_weights"] = digest
        path = None
        if config.SAVE_CHECKPOINTS if save is None else save:
            path = save_checkpoint(name, modules, info, tensors, folder)
            info = read_info(name, folder)
            print(f"체크포인트(checkpoint)를 저장했습니다: {_shown(path)} ({steps:,}걸음, {seconds:.0f}초)")
        return {"info": info, "tensors": dict(tensors or {}), "path": path}
    path = checkpoint_path(name, folder)
    found = read_info(name, folder) if path.exists() else {"steps": steps, "base_weights": digest}
    made = found.get("steps")
    if digest is not None and found.get("base_weights") != digest:
        raise ValueError(
            f"체크포인트 {_shown(path)}는 지금 불러온 것과 다른 기본 모델 위에서 학습되었습니다 "
            f"(가중치 지문 {found.get('base_weights')} ≠ {digest}). 설정 셀에서 from_scratch = True로 "
            f"직접 학습하거나 '{MAKE}'로 다시 만드세요. (The checkpoint was trained on other base "
            f"weights; set from_scratch = True or rerun {MAKE}.)")
    if made != steps:
        raise ValueError(
            f"체크포인트 {_shown(path)}는 {made}걸음을 학습했는데 설정은 {steps}걸음입니다. 걸음 수를 "
            f"바꾸려면 설정 셀에서 from_scratch = True로 직접 학습하세요. (The checkpoint was trained "
            f"{made} steps, the settings ask for {steps}: set from_scratch = True.)")
    return load_checkpoint(name, modules, folder)
