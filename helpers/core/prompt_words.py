"""Words a pipeline's tokenizer cannot read, and the warning ``generate`` gives for them.

The bundled mini-sd's tokenizer (``helpers/training/word_tokenizer.py``) knows the Shapes world's
English words, their pieces and single letters and digits. A character outside that alphabet
(Hangul, emoji, ``;``) becomes its unknown token, which is ``<|endoftext|>``, the token that
also pads every prompt: a prompt written wholly in Korean therefore reads exactly like ``""``.
SD 1.5's CLIP tokenizer is byte-level and never produces the unknown token, so it never warns.
"""

from __future__ import annotations

import warnings
from typing import Any

EXAMPLE = "a large red circle at the center on a blue background"
_warned: set[tuple[int, str]] = set()  # (tokenizer id, prompt) pairs already warned about


class UnknownWordsWarning(UserWarning):
    """Some words of a prompt are unknown to the pipeline's tokenizer.

    Used by helpers.core.prompt_words (no notebook calls it).
    """


def unknown_words(tokenizer: Any, prompt: str) -> list[str]:
    """Return the words of ``prompt`` (split at spaces) that hold a token ``tokenizer`` does not know.

    A word counts as unknown when any of its tokens is the tokenizer's unknown token. English
    words outside the vocabulary are not unknown: they split into known pieces and letters.
    Used in 06_prompt_engineering, 07_failure_cases.
    """
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None:
        return []
    words = prompt.split()
    if not words:
        return []
    ids = tokenizer(words, add_special_tokens=False).input_ids
    return [word for word, tokens in zip(words, ids, strict=True) if unk in tokens]


def known_words(tokenizer: Any, *, limit: int = 40) -> list[str]:
    """Return up to ``limit`` whole English words ``tokenizer`` holds as single tokens, sorted.

    For the bundled mini-sd these are the Shapes words (circle, red, left, background, ...).
    Used by helpers.core.prompt_words (no notebook calls it).
    """
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    words = sorted(t[:-4] for t in vocab if t.endswith("</w>") and len(t) > 5 and t[:-4].isalpha())
    return words[:limit]


def unknown_words_message(tokenizer: Any, prompt: str) -> str | None:
    """Return the warning for ``prompt``'s unknown words (Korean, then English), or None if there are none.

    Used by helpers.core.prompt_words (no notebook calls it).
    """
    unknown = unknown_words(tokenizer, prompt)
    if not unknown:
        return None
    words = known_words(tokenizer)
    knows = (f" 이 모델이 아는 영어 단어(the words it knows): {', '.join(words)}; 예(e.g.) '{EXAMPLE}'."
             if words else " 영어(English)로 써 보세요.")
    if len(unknown) == len(prompt.split()):
        return (f"프롬프트 {prompt!r}의 단어를 이 모델의 토크나이저가 하나도 모릅니다: 모르는 글자는 모두 "
                f"끝 토큰 <|endoftext|>이 되어, 빈 프롬프트 ''와 같은 그림이 나옵니다 (every word is "
                f"unknown to this model's tokenizer, so the prompt reads as empty).{knows}")
    listed = ", ".join(repr(w) for w in unknown)
    return (f"프롬프트 {prompt!r}에서 이 모델의 토크나이저가 모르는 단어: {listed}. 모르는 글자는 끝 토큰 "
            f"<|endoftext|>이 되어 뜻을 전하지 못합니다 (unknown words become the end-of-text "
            f"token).{knows}")


def warn_unknown_words(pipe: Any, prompts: str | list[str] | None) -> None:
    """Return None after warning (``UnknownWordsWarning``) once per prompt that has unknown words.

    Looks at ``pipe.tokenizer``; a pipeline without one is not checked.
    Used by helpers.core.generate (no notebook calls it).
    """
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None or prompts is None:
        return
    for prompt in dict.fromkeys([prompts] if isinstance(prompts, str) else prompts):
        key = (id(tokenizer), prompt)
        if key in _warned:
            continue
        message = unknown_words_message(tokenizer, prompt)
        if message is not None:
            _warned.add(key)
            warnings.warn(message, UnknownWordsWarning, stacklevel=3)
