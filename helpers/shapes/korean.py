"""Korean captions of the Shapes world: one grammar, the same attributes as the English captions.

Full caption: ``{background} 배경 {position}에 {size} {color} {shape}``, for example
``파란 배경 가운데에 큰 빨간 원`` ("a large red circle at the center on a blue background").
A partial caption drops any of size, colour, position and background, keeping the order and the
shape, as English ones do. The word lists below are the one source; docs/shapes-world.md
shows them and a test keeps the two the same.
"""

from __future__ import annotations

import random

from helpers.shapes.world import OPTIONAL_ATTRIBUTES, Shape, _check_choice

KOREAN_WORDS: dict[str, dict[str, str]] = {
    "color": {"red": "빨간", "green": "초록", "blue": "파란", "yellow": "노란",
              "purple": "보라", "orange": "주황", "white": "흰", "black": "검은"},
    "shape": {"circle": "원", "square": "네모", "triangle": "세모"},
    "size": {"small": "작은", "large": "큰"},
    "position": {"center": "가운데", "left": "왼쪽", "right": "오른쪽", "top": "위쪽",
                 "bottom": "아래쪽"},
}
BACKGROUND_WORD = "배경"
POSITION_PARTICLE = "에"


def korean_caption_words() -> tuple[str, ...]:
    """Return every word a Korean caption can contain (the particle attached, as written).

    Used by helpers.training.mini_sd (no notebook calls it).
    """
    words = {word for table in KOREAN_WORDS.values() for word in table.values()}
    words |= {place + POSITION_PARTICLE for place in KOREAN_WORDS["position"].values()}
    return tuple(sorted(words | {BACKGROUND_WORD}))


def korean_caption(item: Shape, keep: tuple[str, ...] | None = None) -> str:
    """Return the Korean caption of ``item``; ``keep`` names the optional attributes to mention.

    ``keep=None`` gives the full caption ``{background} 배경 {position}에 {size} {color} {shape}``.
    Used in 06_prompt_engineering.
    """
    keep = OPTIONAL_ATTRIBUTES if keep is None else tuple(keep)
    for name in keep:
        _check_choice("caption attribute", name, OPTIONAL_ATTRIBUTES)
    words = KOREAN_WORDS
    parts: list[str] = []
    if "background" in keep:
        parts += [words["color"][item.background], BACKGROUND_WORD]
    if "position" in keep:
        parts.append(words["position"][item.position] + POSITION_PARTICLE)
    if "size" in keep:
        parts.append(words["size"][item.size])
    if "color" in keep:
        parts.append(words["color"][item.color])
    parts.append(words["shape"][item.shape])
    return " ".join(parts)


def random_korean_partial(item: Shape, rng: random.Random) -> tuple[str, dict[str, str]]:
    """Return a random partial Korean caption of ``item`` and the attributes it names.

    Each optional attribute is kept with probability 1/2, as ``random_partial`` does in English.
    Used by helpers.shapes.captions (no notebook calls it).
    """
    keep = tuple(name for name in OPTIONAL_ATTRIBUTES if rng.random() < 0.5)
    named = {"shape": item.shape, **{name: getattr(item, name) for name in keep}}
    return korean_caption(item, keep), named


def is_korean(text: str) -> bool:
    """Return True when ``text`` contains a Hangul syllable.

    Used by helpers.shapes.reader (no notebook calls it).
    """
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def parse_korean_caption(text: str) -> dict[str, str]:
    """Return the attributes a Korean one-object caption names.

    Raises ValueError, saying where, for text outside the grammar.
    Used by helpers.shapes.reader (no notebook calls it).
    """
    back = {kind: {ko: en for en, ko in table.items()} for kind, table in KOREAN_WORDS.items()}
    words = text.split()
    named: dict[str, str] = {}
    i = 0
    if len(words) >= 2 and words[1] == BACKGROUND_WORD and words[0] in back["color"]:
        named["background"] = back["color"][words[0]]
        i = 2
    if (i < len(words) and words[i].endswith(POSITION_PARTICLE)
            and words[i][:-len(POSITION_PARTICLE)] in back["position"]):
        named["position"] = back["position"][words[i][:-len(POSITION_PARTICLE)]]
        i += 1
    if i < len(words) and words[i] in back["size"]:
        named["size"] = back["size"][words[i]]
        i += 1
    if i < len(words) and words[i] in back["color"]:
        named["color"] = back["color"][words[i]]
        i += 1
    if i != len(words) - 1 or words[i] not in back["shape"]:
        raise ValueError(f"Shapes 세계의 한국어 캡션이 아닙니다 (문법: '{{배경색}} 배경 "
                         f"{{위치}}에 {{크기}} {{색}} {{모양}}'): {text!r}")
    named["shape"] = back["shape"][words[i]]
    return named
