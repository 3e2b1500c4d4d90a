"""notebooks/glossary.md holds every key term the notebooks introduce as "English (한국어)"."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def load_glossary_tool():
    spec = importlib.util.spec_from_file_location("glossary", ROOT / "tools" / "glossary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def glossary_pairs() -> set[tuple[str, str]]:
    """(English casefolded, each Korean form) from the table in notebooks/glossary.md."""
    pairs = set()
    for line in (ROOT / "notebooks" / "glossary.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if line.startswith("| ") and len(cells) == 3 and cells[0] not in ("English", "---"):
            pairs |= {(cells[0].casefold(), korean) for korean in cells[1].split(" / ")}
    return pairs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_term_a_notebook_introduces_is_in_the_glossary(path):
    tool = load_glossary_tool()
    missing = [f"{en} ({ko})" for en, ko in tool.notebook_terms(path)
               if (en.casefold(), ko) not in glossary_pairs()]
    assert missing == [], f"{path.name}: not in notebooks/glossary.md: {missing}; run: python tools/glossary.py"


def test_the_glossary_is_exactly_what_the_builder_writes():
    tool = load_glossary_tool()
    assert tool.main(["--check"]) == 0, "run: python tools/glossary.py"
    assert len(glossary_pairs()) >= 50


def test_both_forms_are_read_and_prose_is_not():
    terms = load_glossary_tool().terms_in
    assert terms("U-Net의 **cross-attention (교차 어텐션)**과 U-Net(유넷)") == [
        ("cross-attention", "교차 어텐션"), ("U-Net", "유넷")]
    assert terms("잠재 공간(latent space, 잠재 공간)에서 SNR(signal-to-noise ratio, SNR, 신호 대 잡음비)") == [
        ("latent space", "잠재 공간"), ("signal-to-noise ratio, SNR", "신호 대 잡음비")]
    assert terms("## 3. AE에서 VAE로 (autoencoder → variational autoencoder, 변분 오토인코더)") == [
        ("variational autoencoder", "변분 오토인코더")]
    assert terms("| | CPU (이 워크북의 기본) | Colab GPU |") == []  # a table row
    assert terms("fp16(이 워크북의 기본)과 그 밖의 경우(CPU, 오프라인)") == []  # prose
    assert terms("(model CPU offload: 쓰지 않는 부품을 CPU로, 느려짐)") == []
