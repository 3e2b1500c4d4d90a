"""How CLIP's byte-pair tokenizer writes text: one printable character per UTF-8 byte, ``</w>`` ending a word.

SD 1.5's tokenizer and the bundled mini-sd's share these conventions; the mini tokenizer is built
with them (helpers.training.word_tokenizer) and tokens are read back with them (helpers.prompting.tokens).
"""

from __future__ import annotations

from functools import cache

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
#: the mark CLIP's BPE puts on the last piece of a word
END = "</w>"


@cache
def bytes_to_unicode() -> dict[int, str]:
    """Return CLIP's (and GPT-2's) map from each byte to the printable character standing for it.

    Used by helpers.core.clip_bytes, helpers.training.word_tokenizer (no notebook calls it).
    """
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars), strict=True))


@cache
def unicode_to_bytes() -> dict[str, int]:
    """Return the inverse of ``bytes_to_unicode``: each printable character's byte.

    Used by helpers.prompting.tokens (no notebook calls it).
    """
    return {char: byte for byte, char in bytes_to_unicode().items()}
