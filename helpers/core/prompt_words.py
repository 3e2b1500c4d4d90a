"""Words of a prompt the model never learned, and the warning ``generate`` gives for them.

Both tokenizers here are byte-level BPE: any text tokenizes, so no word is "unreadable". What
matters is whether the model saw the word's tokens in training. SD 1.5's CLIP learned its 49,408
tokens from hundreds of millions of English captions; the bundled mini-sd learned only the Shapes
world's caption words, English and Korean (``helpers/training/word_tokenizer.py`` makes each of
them one token). Any other word (``hexagon``, ``고양이``) splits into letters or bytes the mini
model never saw in a caption, so it steers nothing the way the word means.

mini-sd's tokenizer says which words its model learned: ``learned_words`` in its
``tokenizer_config.json`` (written by the training code), which transformers keeps in
``tokenizer.init_kwargs``. A tokenizer without that list (SD 1.5's) is checked only for its
unknown token, which a byte-level tokenizer never produces, so it never warns.
"""

from __future__ import annotations

import string
import warnings
from typing import Any

#: the key in tokenizer_config.json that lists the words the model learned
LEARNED_WORDS_KEY = "learned_words"
EXAMPLES = ("a large red circle at the center on a blue background", "파란 배경 가운데에 큰 빨간 원")
# stripped from each end of a word; not < and >, which name added tokens such as <hexagon>
_PUNCTUATION = string.punctuation.replace("<", "").replace(">", "") + "·…“”‘’"
_warned: set[tuple[int, tuple[str, ...]]] = set()  # (tokenizer id, unknown words) already warned


class UnknownWordsWarning(UserWarning):
    """Some words of a prompt were never learned by the pipeline's model.

    Used by helpers.core.prompt_words (no notebook calls it).
    """


def learned_words(tokenizer: Any) -> frozenset[str] | None:
    """Return the words the model behind ``tokenizer`` learned, or None when the tokenizer does not say.

    mini-sd's tokenizer lists them (``learned_words`` in its config). Tokens added later with
    ``tokenizer.add_tokens`` (09's ``<hexagon>``) are trained on purpose, so they count as learned.
    Used by helpers.core.prompt_words (no notebook calls it).
    """
    words = getattr(tokenizer, "init_kwargs", {}).get(LEARNED_WORDS_KEY)
    return None if words is None else frozenset(words) | added_tokens(tokenizer)


def added_tokens(tokenizer: Any) -> frozenset[str]:
    """Return the tokens added to ``tokenizer`` after it was made, special tokens left out.

    Used by helpers.core.prompt_words (no notebook calls it).
    """
    added = tokenizer.get_added_vocab() if hasattr(tokenizer, "get_added_vocab") else {}
    special = set(getattr(tokenizer, "all_special_tokens", []))
    return frozenset(token for token in added if token not in special)


def prompt_words(prompt: str) -> list[str]:
    """Return the words of ``prompt``: split at spaces, lowercased, punctuation stripped from each end.

    Angle brackets stay: ``<hexagon>,`` is the added token ``<hexagon>``.
    Used by helpers.core.prompt_words (no notebook calls it).
    """
    words = (raw.strip(_PUNCTUATION) for raw in prompt.lower().split())
    return [word for word in words if word]


def unknown_words(tokenizer: Any, prompt: str) -> list[str]:
    """Return the words of ``prompt`` the model behind ``tokenizer`` never learned, in order.

    With a tokenizer that lists its model's learned words (mini-sd): every word not among them,
    English (``hexagon``) or Korean (``고양이``). Otherwise: the words that hold the tokenizer's
    unknown token, which a byte-level tokenizer such as SD 1.5's never produces.
    Used in 06_prompt_engineering, 07_failure_cases.
    """
    words = prompt_words(prompt)
    learned = learned_words(tokenizer)
    if learned is not None:
        return [word for word in words if word not in learned]
    unk = getattr(tokenizer, "unk_token_id", None)
    if unk is None or not words:
        return []
    ids = tokenizer(words, add_special_tokens=False).input_ids
    return [word for word, tokens in zip(words, ids, strict=True) if unk in tokens]


def known_words(tokenizer: Any, *, limit: int = 40) -> list[str]:
    """Return up to ``limit`` of the words the model learned (English first), or [] if unknown.

    For the bundled mini-sd these are the Shapes words (circle, red, left, 빨간, 원, ...).
    Used by helpers.core.prompt_words (no notebook calls it).
    """
    learned = learned_words(tokenizer) or frozenset()
    return sorted(learned, key=lambda word: (not word.isascii(), word))[:limit]


def _unknown_by_prompt(tokenizer: Any, prompts: list[str]) -> dict[str, list[str]]:
    """Each distinct prompt's unknown words, worked out once."""
    return {prompt: unknown_words(tokenizer, prompt) for prompt in dict.fromkeys(prompts)}


def _message(tokenizer: Any, unknown_by_prompt: dict[str, list[str]], unknown: list[str]) -> str:
    """The warning naming ``unknown``, the unknown words of the prompts in ``unknown_by_prompt``."""
    words = known_words(tokenizer)
    more = len(learned_words(tokenizer) or ()) - len(words)
    shown = ", ".join(words) + (f" 외 {more}개 (and {more} more)" if more > 0 else "")
    knows = (f" 이 모델이 아는 단어(the words it learned): {shown}; "
             f"예(e.g.) '{EXAMPLES[0]}', '{EXAMPLES[1]}'." if words else "")
    listed = ", ".join(repr(w) for w in unknown[:12]) + (" ..." if len(unknown) > 12 else "")
    wholly = [prompt for prompt, words in unknown_by_prompt.items()
              if words and len(words) == len(prompt_words(prompt))]
    none = (f" 프롬프트 {wholly[0]!r}에는 아는 단어가 하나도 없습니다 (no word of it was learned)."
            if wholly else "")
    return (f"이 모델이 학습에서 본 적 없는 단어: {listed}. 처음 보는 단어는 글자나 바이트 조각으로 쪼개지는데, "
            f"모델은 그 조각들의 뜻을 배운 적이 없어 그림을 그 말대로 이끌지 못합니다 (words the model never "
            f"saw in training split into pieces that carry no learnt meaning).{none}{knows}")


def warn_unknown_words(pipe: Any, prompts: str | list[str] | None) -> None:
    """Return None after warning (``UnknownWordsWarning``) once for the unknown words of one call's prompts.

    All the prompts of a call give one warning; the same unknown words are not warned about again.
    Looks at ``pipe.tokenizer``; a pipeline without one is not checked.
    Used by helpers.core.generate (no notebook calls it).
    """
    tokenizer = getattr(pipe, "tokenizer", None)
    if tokenizer is None or prompts is None:
        return
    unknown_by_prompt = _unknown_by_prompt(tokenizer, [prompts] if isinstance(prompts, str) else list(prompts))
    unknown = list(dict.fromkeys(word for words in unknown_by_prompt.values() for word in words))
    key = (id(tokenizer), tuple(sorted(unknown)))
    if not unknown or key in _warned:
        return
    _warned.add(key)
    warnings.warn(_message(tokenizer, unknown_by_prompt, unknown), UnknownWordsWarning, stacklevel=3)
