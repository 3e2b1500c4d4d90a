"""Build a real CLIPTokenizer offline whose vocabulary holds whole caption words.

Stable Diffusion's tokenizer is CLIP's byte-pair encoder (BPE) with 49,408 tokens.
The mini model needs the same class but only the Shapes world's words, so we
write the merges ourselves: every caption word, English or Korean, becomes exactly one
token, and any other word (``hexagon``, ``육각형``) still tokenizes, into letters or bytes.
CLIP's BPE works on UTF-8 bytes, each shown as one printable character
(``helpers.core.clip_bytes.bytes_to_unicode``):
an ASCII letter is itself, a Hangul syllable is three such characters.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from helpers.core.clip_bytes import BOS, END, EOS, bytes_to_unicode
from helpers.core.prompt_words import LEARNED_WORDS_KEY


def as_bytes(word: str) -> str:
    """Return ``word`` the way CLIP's BPE sees it: one character per UTF-8 byte.

    Used by helpers.training.word_tokenizer (no notebook calls it).
    """
    table = bytes_to_unicode()
    return "".join(table[b] for b in word.encode("utf-8"))


def _bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Apply BPE merges to one word the way CLIP's tokenizer does (lowest rank first)."""
    parts = list(word[:-1]) + [word[-1] + END]
    while len(parts) > 1:
        pairs = [(ranks.get((a, b)), i) for i, (a, b) in enumerate(zip(parts, parts[1:], strict=False))]
        pairs = [(r, i) for r, i in pairs if r is not None]
        if not pairs:
            break
        rank = min(r for r, _ in pairs)
        first, second = next((parts[i], parts[i + 1]) for r, i in pairs if r == rank)
        merged: list[str] = []
        i = 0
        while i < len(parts):
            if i < len(parts) - 1 and parts[i] == first and parts[i + 1] == second:
                merged.append(first + second)
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts


def word_merges(words: Iterable[str]) -> list[tuple[str, str]]:
    """Return BPE merges under which each word in ``words`` becomes a single token.

    Merges learned word by word can collide (``re`` from "red" would split
    "green"), so merges are added only when a word is stuck: a merge appended last
    has the lowest priority and cannot change how an already-finished word splits.
    Used by helpers.training.word_tokenizer (no notebook calls it).
    """
    merges: list[tuple[str, str]] = []
    ranks: dict[tuple[str, str], int] = {}
    todo = sorted({as_bytes(w.lower()) for w in words if w})
    while True:
        added = False
        for word in todo:
            parts = _bpe(word, ranks)
            if len(parts) > 1:
                pair = (parts[0], parts[1])
                ranks[pair] = len(merges)
                merges.append(pair)
                added = True
        if not added:
            return merges


def build_tokenizer(words: Iterable[str], model_max_length: int, learned: Iterable[str] | None = None):
    """Return a ``transformers.CLIPTokenizer`` covering ``words`` as single tokens.

    The vocabulary holds the two special tokens, every byte's character (with and without
    the end-of-word mark; lowercase letters and digits first) and every merge result.
    ``learned`` (default: ``words``) are the words the model will see in training; they are
    kept in the tokenizer's config as ``learned_words``, which is how ``helpers.generate``
    knows which words of a prompt the model never learned (``helpers.core.prompt_words``).
    Used by helpers.training.mini_sd (no notebook calls it).
    """
    from transformers import CLIPTokenizer

    words = list(words)
    merges = word_merges(words)
    vocab: dict[str, int] = {}
    base = list(string.ascii_lowercase + string.digits + ".,!?'-") + sorted(
        set(bytes_to_unicode().values()) - set(string.ascii_uppercase))
    for token in [*base, *(c + END for c in base), *(a + b for a, b in merges), BOS, EOS]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=model_max_length,
                         bos_token=BOS, eos_token=EOS, pad_token=EOS, unk_token=EOS,
                         **{LEARNED_WORDS_KEY: sorted({w.lower() for w in (words if learned is None else learned)})})
