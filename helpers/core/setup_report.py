"""The short set-up report every notebook starts with: device, seed, versions and the model backend."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from helpers.core.arguments import check_seed
from helpers.core.device import default_dtype, package_version, pick_device, seed_everything
from helpers.core.loading import choose_backend
from helpers.core.quiet_warnings import quiet_unactionable_warnings
from helpers.core.registry import FAMILIES, REGISTRY


def setup(seed: int = 0, family: str = "sd15") -> torch.device:
    """Return the device to use, after seeding everything and printing a short report.

    The report names the versions, the device, the dtype pipelines will use and which
    model backend ``helpers.load_pipeline()`` will choose for ``family`` ("sd15", or "sd3" in
    notebook 11), and why. Library notices a student
    cannot act on are silenced from here on (``helpers.core.quiet_warnings``).
    Used in 00_setup_check, 01_gan_vae_recap, 02_forward_diffusion, 03_reverse_diffusion,
    04_inside_stable_diffusion, 05_running_stable_diffusion, 06_prompt_engineering,
    07_failure_cases, 08_controlnet, 09_editing_and_personalization, 10_responsible_generation,
    11_flow_matching.
    """
    seed = check_seed(seed)
    quiet_unactionable_warnings()  # notices a student cannot act on (helpers.core.quiet_warnings)
    device = pick_device()
    seed_everything(seed)
    model, reason = choose_backend(device, family=family)
    versions = ", ".join(
        f"{name} {package_version(name) or 'missing'}"
        for name in ("torch", "diffusers", "transformers")
    )
    print(f"python {platform.python_version()}, {versions}")
    print(
        f"device: {device} | dtype: {str(default_dtype(device)).replace('torch.', '')} | seed: {seed}"
    )
    bundled = REGISTRY[FAMILIES[family]["bundled"]]
    present = "present" if (Path(bundled.local_dir) / "model_index.json").is_file() else "missing"
    print(f"model backend: {model} ({reason}); bundled {bundled.key} {present}")
    return device
