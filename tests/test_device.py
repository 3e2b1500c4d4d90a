"""setup(): device choice, seeding, the report, and the hub probe that never hangs."""

from __future__ import annotations

import random
import time

import numpy as np
import torch

import helpers
from helpers.core import device as device_module


def test_setup_picks_cpu_here_and_reports(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not torch.cuda.is_available()  # this machine has no GPU
    device = helpers.setup(seed=0)
    assert device == torch.device("cpu")
    out = capsys.readouterr().out
    assert "device: cpu | dtype: float32 | seed: 0" in out
    # the installed distribution's version: PyPI's torch 2.11.0 says 2.11.0+cu130 in __version__
    torch_version = helpers.core.device.package_version("torch")
    assert f"torch {torch_version}" in out and "diffusers " in out and "transformers " in out
    assert "model backend: mini-sd (bundled mini-sd: no CUDA GPU)" in out


def test_setup_seeds_python_numpy_and_torch(capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    helpers.setup(seed=123)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    helpers.setup(seed=123)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    helpers.setup(seed=124)
    third = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second
    assert all(a != c for a, c in zip(first, third, strict=True))


def test_pick_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert helpers.pick_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert helpers.pick_device().type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert helpers.pick_device().type == "cpu"


def test_default_dtype():
    assert helpers.default_dtype("cuda") == torch.float16
    assert helpers.default_dtype(torch.device("cpu")) == torch.float32
    assert helpers.default_dtype("mps") == torch.float32


def test_hub_reachable_is_false_at_once_when_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    assert helpers.hub_reachable(timeout=5.0) is False
    assert time.perf_counter() - start < 0.05


def test_hub_reachable_gives_up_after_timeout(monkeypatch):
    """A server that never answers must not hang the notebook beyond the timeout."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)

    def never_answers(*args, **kwargs):
        time.sleep(10)

    monkeypatch.setattr(device_module.urllib.request, "urlopen", never_answers)
    start = time.perf_counter()
    assert helpers.hub_reachable(timeout=0.3) is False
    assert time.perf_counter() - start < 1.0


def test_hub_reachable_true_when_server_answers(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)

    class Answer:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    seen = []

    def answers(request, timeout):
        seen.append((request.get_method(), request.full_url, timeout))
        return Answer()

    monkeypatch.setattr(device_module.urllib.request, "urlopen", answers)
    assert helpers.hub_reachable(timeout=1.5) is True
    assert seen == [("HEAD", "https://huggingface.co", 1.5)]
