"""FAST, the checkpoint switches, IN_COLAB and the data paths come from the environment, read once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = (
    "import json, sys, types\n"
    "if len(sys.argv) > 1: sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    "from helpers.core import config\n"
    "print(json.dumps({'fast': config.FAST, 'colab': config.IN_COLAB,"
    " 'data': str(config.DATA_DIR), 'bundled': str(config.BUNDLED_MODEL_DIR),"
    " 'checkpoints': str(config.CHECKPOINT_DIR), 'scratch': config.TRAIN_FROM_SCRATCH,"
    " 'save': config.SAVE_CHECKPOINTS, 'url': config.REPO_URL}))"
)


def _config(colab: bool = False, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WORKBOOK_")}
    environ.update(env)
    args = [sys.executable, "-c", PROBE] + (["colab"] if colab else [])
    run = subprocess.run(args, env=environ, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_defaults():
    config = _config()
    assert config["fast"] is False and config["colab"] is False
    assert config["data"] == str(ROOT / "data")
    assert config["bundled"] == str(ROOT / "data" / "models" / "mini-sd")
    assert config["checkpoints"] == str(ROOT / "data" / "checkpoints")
    assert config["scratch"] is False and config["save"] is False
    assert config["url"].startswith("https://github.com/")


def test_environment_overrides(tmp_path):
    config = _config(
        WORKBOOK_FAST="yes", WORKBOOK_DATA=str(tmp_path), WORKBOOK_REPO_URL="https://github.com/a/b"
    )
    assert config["fast"] is True and config["url"] == "https://github.com/a/b"
    assert config["bundled"] == str(tmp_path / "models" / "mini-sd")
    assert config["checkpoints"] == str(tmp_path / "checkpoints")
    assert _config(WORKBOOK_FAST="0")["fast"] is False
    assert _config(WORKBOOK_FAST="TRUE")["fast"] is True
    switches = _config(WORKBOOK_FROM_SCRATCH="1", WORKBOOK_SAVE_CHECKPOINTS="yes")
    assert switches["scratch"] is True and switches["save"] is True


def test_in_colab_when_google_colab_is_loaded():
    assert _config(colab=True)["colab"] is True
