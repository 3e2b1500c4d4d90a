"""environment_report rows and their [OK]/[FAIL] formatting."""

from __future__ import annotations

import helpers
from helpers.core import environment_check
from helpers.core.environment_check import CheckRow, format_report, version_at_least


def test_version_at_least():
    assert version_at_least("0.42.1", "0.40")
    assert version_at_least("5.0.0rc1", "5")
    assert version_at_least("2.13.0+cpu", "2.13")
    assert not version_at_least("0.39.9", "0.40")
    assert not version_at_least("4.57.1", "5")


def test_report_rows_here(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = {row.name: row for row in helpers.environment_report()}
    assert rows["python"].ok and rows["torch"].ok and rows["diffusers"].ok
    assert rows["device"].detail == "cpu"
    assert not rows["gpu memory"].ok and not rows["gpu memory"].required
    assert not rows["hub reachable"].ok and rows["hub reachable"].status == "--"
    assert set(environment_check.REQUIRED_PACKAGES) <= set(rows)


def test_missing_and_old_packages_fail(monkeypatch):
    versions = {"diffusers": "0.39.0", "transformers": None}
    monkeypatch.setattr(environment_check, "package_version", lambda name: versions.get(name, "9.9"))
    rows = {row.name: row for row in helpers.environment_report(check_hub=False)}
    assert rows["diffusers"].status == "FAIL" and "need >= 0.40" in rows["diffusers"].detail
    assert rows["transformers"].detail == "not installed"
    assert "hub reachable" not in rows


def test_bundled_model_row(tmp_path, monkeypatch):
    monkeypatch.setattr(environment_check, "BUNDLED_MODEL_DIR", tmp_path)
    row = [r for r in helpers.environment_report(check_hub=False) if r.name == "bundled mini-sd"][0]
    assert row.status == "FAIL" and "python -m helpers.training.train_mini_sd" in row.detail
    (tmp_path / "model_index.json").write_text("{}")
    row = [r for r in helpers.environment_report(check_hub=False) if r.name == "bundled mini-sd"][0]
    assert row.status == "OK"


def test_format_report():
    rows = [CheckRow("python", True, "3.11"), CheckRow("gpu", False, "none", required=False)]
    assert format_report(rows).splitlines() == [
        "[OK]   python  3.11",
        "[--]   gpu     none",
        "all required checks passed",
    ]
    failed = format_report(rows + [CheckRow("torch", False, "not installed")])
    assert "[FAIL] torch   not installed" in failed and failed.endswith("FAILED: torch")
