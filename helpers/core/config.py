"""Settings read once from the environment: fast mode, checkpoints, Colab, paths, the repository URL.

Nothing here touches the network, the disk or the GPU; these are plain constants.
"""

from __future__ import annotations

import os
import sys
from importlib.util import find_spec
from pathlib import Path

_TRUE = {"1", "true", "yes"}


def _flag(name: str) -> bool:
    """Return True if environment variable ``name`` is 1, true or yes (any case)."""
    return os.environ.get(name, "").strip().lower() in _TRUE


#: Fast mode (빠른 모드): tests and CI set ``WORKBOOK_FAST=1`` to shrink loops and sizes.
FAST: bool = _flag("WORKBOOK_FAST")

#: Train the notebooks' models the full length instead of loading their checkpoints
#: (``WORKBOOK_FROM_SCRATCH=1``; a notebook's settings cell copies it into ``from_scratch``).
TRAIN_FROM_SCRATCH: bool = _flag("WORKBOOK_FROM_SCRATCH")

#: With ``TRAIN_FROM_SCRATCH``: save what the notebooks train as their checkpoints
#: (``WORKBOOK_SAVE_CHECKPOINTS=1``; ``make checkpoints`` sets both).
SAVE_CHECKPOINTS: bool = _flag("WORKBOOK_SAVE_CHECKPOINTS")

#: True inside Google Colab.
IN_COLAB: bool = "google.colab" in sys.modules or (
    "google" in sys.modules and find_spec("google.colab") is not None
)

#: The repository root (the folder holding ``helpers/``, ``notebooks/`` and ``data/``).
REPO_ROOT: Path = Path(__file__).resolve().parents[2]  # helpers/core/config.py

#: Data folder; ``WORKBOOK_DATA`` overrides it (for example to point at a shared drive).
DATA_DIR: Path = Path(os.environ.get("WORKBOOK_DATA") or REPO_ROOT / "data").expanduser()

#: Where the bundled mini Stable Diffusion lives (a ``save_pretrained`` folder).
BUNDLED_MODEL_DIR: Path = DATA_DIR / "models" / "mini-sd"

#: Where the bundled mini Stable Diffusion 3 (flow matching, MMDiT) lives.
BUNDLED_SD3_DIR: Path = DATA_DIR / "models" / "mini-sd3"

#: Where the bundled mini ControlNet (pose) lives once it is built.
BUNDLED_CONTROLNET_DIR: Path = DATA_DIR / "models" / "mini-controlnet-pose"

#: The checkpoints of the small models the notebooks train (01's GAN, AE and VAE, 03's DDPM), with
#: their card README.md; ``make checkpoints`` writes them.
CHECKPOINT_DIR: Path = DATA_DIR / "checkpoints"

#: The one place that names the workbook's git repository (Colab badge and install cell).
#: ``WORKBOOK_REPO_URL`` overrides it, e.g. for a fork; then run ``tools/stamp_notebooks.py``.
REPO_URL: str = os.environ.get("WORKBOOK_REPO_URL", "https://github.com/sd-workbook/sd-workbook")

#: Branch the Colab badge opens.
REPO_BRANCH: str = os.environ.get("WORKBOOK_REPO_BRANCH", "main")
