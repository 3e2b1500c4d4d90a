"""What a prompt's tokens say, written so that a person can read them.

CLIP's byte-pair tokenizer (SD 1.5's, and mini-sd's) works on UTF-8 bytes, each shown as one
printable character, so ``tokenizer.tokenize("빨간 원")`` prints characters such as ``ë¹¨`` even
when a token is a whole Korean word. ``token_text`` turns a token back into its text, and marks a
token that holds only part of a character (SD 1.5 cuts a Hangul syllable, three bytes, into
pieces) by its bytes in hex: ``⟨eb b9⟩``.
"""

from __future__ import annotations

from helpers.core.clip_bytes import END, unicode_to_bytes


def token_text(token: str) -> str:
    """Return the text ``token`` stands for; bytes that are not whole characters as ``⟨xx xx⟩``.

    The end-of-word mark ``</w>`` is dropped; special tokens (``<|endoftext|>``) come back as they are.
    Used by helpers.prompting.tokens (no notebook calls it).
    """
    body = token[: -len(END)] if token.endswith(END) else token
    table = unicode_to_bytes()
    if body.startswith("<|") or any(char not in table for char in body):
        return token
    raw = bytes(table[char] for char in body)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "⟨" + " ".join(f"{byte:02x}" for byte in raw) + "⟩"


def readable_tokens(tokenizer, prompt: str) -> list[str]:
    """Return the tokens of ``prompt`` (no start, end or padding) as readable text, in order.

    A word the tokenizer keeps whole is one entry (``빨간`` in mini-sd); a word it cuts is several
    (``⟨eb b9⟩``, ``⟨a8⟩`` ... for a Hangul syllable in SD 1.5).
    Used in 06_prompt_engineering, 07_failure_cases.
    """
    return [token_text(token) for token in tokenizer.tokenize(prompt)]
