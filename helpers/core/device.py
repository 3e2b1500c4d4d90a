"""Device choice and seeding: cuda, then mps, then cpu; the dtype each gets; whether the hub is reachable."""

from __future__ import annotations

import os
import random
import threading
import urllib.request
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import torch

from helpers.core.arguments import check_seed

_TRUE = {"1", "true", "yes", "on"}
HUB_URL = "https://huggingface.co"


def pick_device() -> torch.device:
    """Return the best available device (장치): cuda, then mps, then cpu.

    Used by helpers.core.{device, environment_check, setup_report}, helpers.responsible.safety (no
    notebook calls it).
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_DEVICE_TYPES = ("cpu", "cuda", "mps")
_COLAB_GPU = ("in Colab pick Runtime > Change runtime type > T4 GPU and run the notebook again "
              "from the top")


def _no_cuda_reason() -> str:
    """Say why torch sees no CUDA GPU: a CPU-only torch build, or no GPU (driver) visible."""
    if torch.version.cuda is None:
        return f"this torch ({torch.__version__}) is a CPU-only build, so no CUDA GPU is visible"
    return f"torch (built for CUDA {torch.version.cuda}) sees no CUDA GPU on this machine"


def resolve_device(device: torch.device | str | int | None = None, *,
                   check_available: bool = True) -> torch.device:
    """Return ``device`` as a torch.device this machine has, or the best one (``pick_device``) for None.

    Accepts "cpu", "cuda", "cuda:1", "mps", a torch.device or a GPU index. A name torch does not
    know gets one sentence with the fix ("gpu" -> "cuda"); a CUDA or MPS device this machine
    lacks gets one sentence saying so and how to get one (Colab's T4). ``check_available=False``
    checks only the name (for asking what would happen on a GPU).
    Used by helpers.core.loading (no notebook calls it).
    """
    if device is None:
        return pick_device()
    if isinstance(device, str):
        name = device.strip().lower()
        if name in ("gpu", "nvidia", "cuda()") or name.startswith("gpu:"):
            index = name.partition(":")[2]
            raise ValueError(f"device={device!r} is not a torch device name; write "
                             f"device='cuda{':' + index if index else ''}' for an NVIDIA GPU "
                             "(or 'mps' on an Apple-silicon Mac).")
        try:
            resolved = torch.device(name)
        except RuntimeError:
            raise ValueError(f"device={device!r} is not a device name torch knows; use 'cpu', "
                             "'cuda' or 'mps' (or leave it out to pick the best one).") from None
    elif isinstance(device, torch.device):
        resolved = device
    elif isinstance(device, int) and not isinstance(device, bool) and device >= 0:
        resolved = torch.device("cuda", device)
    else:
        raise ValueError(f"device must be a name such as 'cuda' or 'cpu', got {device!r}.")
    if resolved.type not in _DEVICE_TYPES:
        raise ValueError(f"the workbook runs on 'cpu', 'cuda' or 'mps', not {resolved.type!r}; "
                         "leave device out to pick the best one.")
    if not check_available:
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(resolved)!r}, but {_no_cuda_reason()}; {_COLAB_GPU}, or "
                             "use device='cpu' (the bundled model runs there).")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device={str(resolved)!r}, but this machine has {count} CUDA GPU"
                             f"{'s' if count != 1 else ''} (numbered from 0); use device='cuda:0'.")
    if resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError("device='mps' needs an Apple-silicon Mac with a torch that supports "
                             "it; use device='cpu' (or 'cuda' on an NVIDIA GPU).")
    return resolved


def default_dtype(device: torch.device | str) -> torch.dtype:
    """Return the dtype (자료형) pipelines use on ``device``: float16 on CUDA, float32 otherwise.

    Half precision halves GPU memory; on a CPU it is slow or unsupported, so we keep float32.
    Used by helpers.core.setup_report, helpers.responsible.safety (no notebook calls it).
    """
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


def hub_offline() -> bool:
    """Return True when offline mode is switched on (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``).

    Used by helpers.core.{device, loading} (no notebook calls it).
    """
    return any(
        os.environ.get(name, "").strip().lower() in _TRUE
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """Return True if the Hugging Face hub answers an HTTPS HEAD request within ``timeout`` seconds.

    Returns False at once in offline mode. The request runs in a daemon thread, so even a
    slow DNS lookup cannot make a notebook hang longer than ``timeout``.
    Used by helpers.core.{environment_check, loading} (no notebook calls it).
    """
    if hub_offline():
        return False
    answer: list[bool] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(HUB_URL, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer.append(response.status < 500)
        except Exception:
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def seed_everything(seed: int = 0) -> int:
    """Return ``seed`` after seeding Python's ``random``, NumPy and torch (all devices) with it.

    ``seed`` must be a whole number from 0 to 2**32 - 1 (NumPy's limit).
    Used in 01_gan_vae_recap, 03_reverse_diffusion, 11_flow_matching.
    """
    seed = check_seed(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed={seed} is outside 0 to 2**32 - 1, the range NumPy can be seeded "
                         "with; use a smaller number such as 42.")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def package_version(name: str) -> str | None:
    """Return the installed version of distribution ``name``, or None if it is not installed.

    Used by helpers.core.{environment_check, setup_report} (no notebook calls it).
    """
    try:
        return version(name)
    except PackageNotFoundError:
        return None
