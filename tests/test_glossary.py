"""notebooks/glossary.md holds every key term the notebooks introduce as "한국어(English)", written one way."""

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


def test_terms_are_read_korean_first_and_prose_is_not():
    terms = load_glossary_tool().terms_in
    assert terms("U-Net의 **교차 어텐션**(cross-attention)과 그림의 잠재 공간(latent space)") == [
        ("cross-attention", "교차 어텐션"), ("latent space", "잠재 공간")]
    assert terms("잡음을 재는 신호 대 잡음비(signal-to-noise ratio, SNR)") == [
        ("signal-to-noise ratio, SNR", "신호 대 잡음비")]
    assert terms("## 3. 변분 오토인코더 (autoencoder → variational autoencoder)") == [
        ("variational autoencoder", "변분 오토인코더")]
    assert terms("| | CPU (이 워크북의 기본) | Colab GPU |") == []  # a table row
    assert terms("fp16(이 워크북의 기본)과 그 밖의 경우(CPU, 오프라인)") == []  # prose
    assert terms("AE에서 VAE로 (autoencoder)") == []  # a particle after Latin letters is no term


def test_self_glosses_and_the_english_first_order_are_rejected_with_the_fix():
    problems = load_glossary_tool().problems
    assert problems("순방향 확산(forward diffusion, 순방향 확산)") == [
        "glossed by itself or with Korean inside: '(forward diffusion, 순방향 확산)' → write "
        "'순방향 확산(forward diffusion)'"]
    assert problems("U-Net의 cross-attention (교차 어텐션)") == [
        "English first: 'cross-attention (교차 어텐션)' → write '교차 어텐션(cross-attention)'"]
    assert problems("교차 어텐션(cross-attention), 그 밖의 경우(CPU, 오프라인), color2(오른쪽 물체의 색)") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_gloss_is_korean_first_and_never_the_term_itself(path):
    wrong = load_glossary_tool().notebook_problems(path)
    assert wrong == [], "\n".join(wrong)
