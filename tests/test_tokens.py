"""helpers.prompting.tokens: a prompt's tokens as readable text, for any CLIP byte-level tokenizer."""

from __future__ import annotations

from transformers import CLIPTokenizer

from helpers.core.clip_bytes import BOS, END, EOS, bytes_to_unicode
from helpers.prompting.tokens import readable_tokens, token_text
from helpers.training.word_tokenizer import as_bytes, build_tokenizer


def byte_tokenizer() -> CLIPTokenizer:
    """SD 1.5's situation for Hangul: every byte a token, no merges that join a syllable."""
    letters = list(bytes_to_unicode().values())
    vocab = {t: i for i, t in enumerate([*letters, *(c + END for c in letters), BOS, EOS])}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def test_a_whole_korean_word_token_reads_as_the_word():
    tokenizer = build_tokenizer(["red", "빨간", "원"], model_max_length=16)
    assert readable_tokens(tokenizer, "빨간 원 red") == ["빨간", "원", "red"]
    assert token_text(as_bytes("빨간") + END) == "빨간"


def test_bytes_of_a_cut_syllable_show_as_hex():
    assert readable_tokens(byte_tokenizer(), "빨") == ["⟨eb⟩", "⟨b9⟩", "⟨a8⟩"]
    assert "빨".encode() == bytes([0xEB, 0xB9, 0xA8])


def test_special_tokens_and_ascii_come_back_as_they_are():
    assert token_text(EOS) == EOS
    assert token_text("circle" + END) == "circle"
