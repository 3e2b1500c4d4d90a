"""Device choice, seeding and the short set-up report every notebook starts with."""

from __future__ import annotations

import os
import platform
import random
import threading
import urllib.request
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import torch

from helpers.config import BUNDLED_MODEL_DIR

_TRUE = {"1", "true", "yes", "on"}
HUB_URL = "https://huggingface.co"


def pick_device() -> torch.device:
    """Return the best available device (장치): cuda, then mps, then cpu.

    Introduced in 00_setup_check.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def default_dtype(device: torch.device | str) -> torch.dtype:
    """Return the dtype (자료형) pipelines use on ``device``: float16 on CUDA, float32 otherwise.

    Half precision halves GPU memory; on a CPU it is slow or unsupported, so we keep float32.
    Introduced in 00_setup_check.
    """
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32


def hub_offline() -> bool:
    """Return True when offline mode is switched on (``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``).

    Introduced in 00_setup_check.
    """
    return any(
        os.environ.get(name, "").strip().lower() in _TRUE
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = 2.0) -> bool:
    """Return True if the Hugging Face hub answers an HTTPS HEAD request within ``timeout`` seconds.

    Returns False at once in offline mode. The request runs in a daemon thread, so even a
    slow DNS lookup cannot make a notebook hang longer than ``timeout``.
    Introduced in 00_setup_check.
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

    Introduced in 00_setup_check.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return seed


def package_version(name: str) -> str | None:
    """Return the installed version of distribution ``name``, or None if it is not installed.

    Introduced in 00_setup_check.
    """
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def setup(seed: int = 0) -> torch.device:
    """Return the device to use, after seeding everything and printing a short report.

    The report names the versions, the device, the dtype pipelines will use and which
    model backend ``helpers.load_pipeline()`` will choose, and why.
    Introduced in 00_setup_check.
    """
    # Imported here: loading imports device, and the choice needs both.
    from helpers.loading import choose_backend

    device = pick_device()
    seed_everything(seed)
    model, reason = choose_backend(device)
    versions = ", ".join(
        f"{name} {package_version(name) or 'missing'}"
        for name in ("torch", "diffusers", "transformers")
    )
    print(f"python {platform.python_version()}, {versions}")
    print(
        f"device: {device} | dtype: {str(default_dtype(device)).replace('torch.', '')} | seed: {seed}"
    )
    bundled = "present" if (BUNDLED_MODEL_DIR / "model_index.json").is_file() else "missing"
    print(f"model backend: {model} ({reason}); bundled mini-sd {bundled}")
    return device
