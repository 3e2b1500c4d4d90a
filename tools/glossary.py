#!/usr/bin/env python3
"""Build notebooks/glossary.md, the Korean–English glossary, from the terms the notebooks introduce.

    python tools/glossary.py            # rewrite notebooks/glossary.md
    python tools/glossary.py --check    # exit 1 if it is out of step, or a gloss is written wrong

A key term is introduced once in a markdown cell as ``한국어(English term)``, Korean first:
"순방향 확산(forward diffusion)", "신호 대 잡음비(signal-to-noise ratio, SNR)". The Korean
term is the Hangul words right before the parenthesis: as many as the English has words (parts
of a hyphenated word count, at most three; two for an abbreviation such as VAE), or exactly
the words in bold when the term is bold, ``**잡음 제거**(denoising)``. A notebook's title line
and its "다음 (next)" link are not read, nor the labels every notebook repeats (정리, 연습...). Table rows (lines starting with "|") are skipped; the
English part is at most five words (an abbreviation may follow after a comma); "A → B" keeps B.

``problems`` finds glosses written the other ways, which ``--check`` and tests/test_glossary.py
reject with the line to fix: a term glossed by itself ("순방향 확산(forward diffusion, 순방향
확산)") and the English-first order ("cross-attention (교차 어텐션)"). ``NOT_GLOSSES`` lists
the few parentheses that are prose, not a gloss.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import OrderedDict
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
GLOSSARY = NOTEBOOK_DIR / "glossary.md"

_HANGUL = "가-힣"
_HANGUL_WORD = rf"[{_HANGUL}][{_HANGUL}0-9·\-]*"
_KOREAN = rf"[{_HANGUL}][{_HANGUL}0-9·\- ]*?"
_WORD = r"[A-Za-z0-9][A-Za-z0-9'\-/.]*"
_ENGLISH = rf"[A-Za-z][A-Za-z0-9'\-/.]*(?: {_WORD}){{0,4}}"
_ABBREVIATION = r"(?:, [A-Z][A-Za-z0-9\-]*)?"
#: 한국어(English term): Hangul words (or a bold run) right before the parenthesis.
FORM = re.compile(rf"(?:\*\*(?P<bold>{_HANGUL_WORD}(?: {_HANGUL_WORD})*)\*\*|(?<![A-Za-z0-9{_HANGUL}])(?P<run>(?:{_HANGUL_WORD} )*{_HANGUL_WORD})) ?"
                  rf"\((?P<english>(?:{_ENGLISH} → )*{_ENGLISH}{_ABBREVIATION})\)")
#: English term (한국어): the English-first order, rejected.
ENGLISH_FIRST = re.compile(rf"(?<![A-Za-z0-9\-])({_ENGLISH}) ?\(({_KOREAN})\)")
#: (English term, 한국어) after Korean: a term glossed by itself when the Korean is repeated.
SELF_GLOSS = re.compile(rf"\(((?:{_ENGLISH} → )*{_ENGLISH}{_ABBREVIATION}), ({_KOREAN})\)")

#: Parentheses that match a form but are prose, not a gloss (exact text inside the parentheses).
NOT_GLOSSES = {
    "CPU, 오프라인",  # 00: "그 밖의 경우(CPU, 오프라인)": two conditions
    "결정적",  # 03: "DDIM(결정적) 그림": an adjective, not a translation
    "확률적",
    "이 워크북의 기본",
    "미니 모델",  # 07: "CPU(미니 모델)": which backend, not a translation
    # the labels every notebook repeats: not key terms
    "answer", "Solution", "summary", "next", "exercises", "Exercise",
}


#: Endings of a verb or adverb: the word before the parenthesis is prose, not a term.
_VERB_ENDINGS = ("다", "며", "서", "고", "려", "게", "로", "는", "은", "운", "한", "든", "며", "면")


def _korean_term(match: re.Match) -> str:
    if match.group("bold"):
        return " ".join(match.group("bold").split())
    words = match.group("run").split()
    english = match.group("english").split(" → ")[-1].split(",")[0].strip()
    parts = len(re.split(r"[ \-]+", english))
    if english.isupper():  # an abbreviation (VAE, PCA) names a term of about two Korean words
        parts = 2
    return " ".join(words[-min(parts, 3, len(words)):])


def terms_in(markdown: str) -> list[tuple[str, str]]:
    """Return the (English, Korean) terms introduced in ``markdown`` as 한국어(English), in order."""
    found = []
    for line in markdown.split("\n"):
        # tables; a notebook's title (# ...) and the "다음 (next)" link name another notebook
        if line.lstrip().startswith(("|", "# ")) or "**다음 (next):**" in line:
            continue
        for match in FORM.finditer(line):
            english = match.group("english").split(" → ")[-1].strip(" .")
            korean = _korean_term(match)
            if re.search(r"[0-9]", english) or korean.endswith(_VERB_ENDINGS):
                continue  # "(two objects 0.00)", "늘려(bilinear)": an aside in English, not a gloss
            if english and korean and match.group("english") not in NOT_GLOSSES:
                found.append((english, korean))
    return found


def problems(markdown: str) -> list[str]:
    """Return each gloss in ``markdown`` written against the convention, with what to write instead."""
    found = []
    for line in markdown.split("\n"):
        if line.lstrip().startswith("|"):
            continue
        for match in SELF_GLOSS.finditer(line):
            english, korean = match.group(1), " ".join(match.group(2).split())
            if f"{english}, {korean}" in NOT_GLOSSES:
                continue
            found.append(f"glossed by itself or with Korean inside: '{match.group(0)}' → write "
                         f"'{korean}({english})'")
        for match in ENGLISH_FIRST.finditer(line):
            english, korean = match.group(1).strip(), " ".join(match.group(2).split())
            if korean in NOT_GLOSSES or "의 " in korean:  # a phrase, e.g. "color2(오른쪽 물체의 색)"
                continue
            found.append(f"English first: '{match.group(0)}' → write '{korean}({english})'")
    return found


def notebook_terms(path: Path) -> list[tuple[str, str]]:
    """Return the terms one notebook introduces in its markdown cells."""
    nb = nbformat.read(path, as_version=4)
    return [t for cell in nb.cells if cell.cell_type == "markdown" for t in terms_in(cell.source)]


def notebook_problems(path: Path) -> list[str]:
    """Return the glosses one notebook writes against the convention, each with its cell number."""
    nb = nbformat.read(path, as_version=4)
    return [f"{path.name} cell {i}: {problem}" for i, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown" for problem in problems(cell.source)]


def collect(paths: list[Path]) -> OrderedDict[str, dict]:
    """Return the glossary entries: English (first spelling) → Korean forms and notebooks."""
    entries: dict[str, dict] = {}
    for path in paths:
        for english, korean in notebook_terms(path):
            entry = entries.setdefault(english.casefold(), {"english": english, "korean": [], "where": []})
            if korean not in entry["korean"]:
                entry["korean"].append(korean)
            if path.stem not in entry["where"]:
                entry["where"].append(path.stem)
    return OrderedDict(sorted(entries.items()))


def render(paths: list[Path]) -> str:
    """Return the text of notebooks/glossary.md for ``paths``."""
    rows = ["| English | 한국어 | 나오는 노트북 (notebooks) |", "| --- | --- | --- |"]
    for entry in collect(paths).values():
        where = ", ".join(f"[{stem[:2]}]({stem}.ipynb)" for stem in entry["where"])
        rows.append(f"| {entry['english']} | {' / '.join(entry['korean'])} | {where} |")
    return "\n".join([
        "# 용어집 (Glossary)",
        "",
        "노트북에서 처음 소개하는 핵심 용어를 한국어와 영어로 모았습니다. 노트북은 용어를",
        "\"한국어(English)\" 꼴로 소개합니다. 링크는 그 용어가 나오는 노트북입니다.",
        "",
        "Every key term the notebooks introduce, in English and Korean, with the notebooks that",
        "use it. Generated by `python tools/glossary.py` from the notebooks; do not edit by hand",
        "(`tests/test_glossary.py` fails when it is out of step).",
        "",
        *rows,
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check verify) notebooks/glossary.md; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report whether it is out of step")
    args = parser.parse_args(argv)
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    wrong = [problem for path in paths for problem in notebook_problems(path)]
    for problem in wrong:
        print(problem, file=sys.stderr)
    text = render(paths)
    current = GLOSSARY.read_text(encoding="utf-8") if GLOSSARY.exists() else ""
    if text == current:
        return 1 if wrong else 0
    if args.check:
        print(f"{GLOSSARY.relative_to(REPO_ROOT)} is out of step; run: python tools/glossary.py",
              file=sys.stderr)
        return 1
    GLOSSARY.write_text(text, encoding="utf-8")
    print(f"wrote {GLOSSARY.relative_to(REPO_ROOT)}: {len(collect(paths))} terms from {len(paths)} notebooks")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
