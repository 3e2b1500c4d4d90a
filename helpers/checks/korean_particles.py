"""Korean particles after any value: ``with_particle(42, "이/가")`` gives "42가", ``("all", "은/는")`` "all은".

A Korean particle has two forms: one after a syllable that ends in a consonant (받침), one
after a vowel: 은/는, 이/가, 을/를, 과/와, 이어야/여야, 이면/면, and 으로/로 (where a final ㄹ
takes 로, like a vowel). Messages that put a number or an English word before a particle need
to know how a Korean reader *reads* it. The rules, kept simple on purpose:

- Hangul: the last syllable's final consonant.
- Numbers are read as Korean numerals, and the last word read decides: 0 영, 1 일, 2 이, 3 삼,
  4 사, 5 오, 6 육, 7 칠, 8 팔, 9 구; trailing zeros end in 십 (10), 백 (100), 천 (1000), 만,
  억, 조, 경 (10^4, 10^8, 10^12, 10^16: 300000 is 삼십만). After a decimal point digits are
  read one by one (0.50 ends in 영). A digit glued to a Latin letter (``x0``, ``v2``) is read
  in English (zero, one, two, ...).
- English: a lone letter or an upper-case ending is read letter by letter (L, R → 엘, 알 end
  in ㄹ; M, N → 엠, 엔 end in a consonant; the rest in a vowel: ``KL``은, ``x_t``가). A word
  is read as Korean loanwords are written: it ends in a consonant after -m, -n, -ng, -c, -ck
  and a silent-e -me/-ne (타임, 라인), in ㄹ after -l and -le (all, circle), in a consonant
  after -p, -t, -k that follow one short vowel (top 톱, cat 캣), and in a vowel otherwise
  (red 레드, white 화이트, center 센터, steps 스텝스).
- ``%`` reads 퍼센트, ``²`` 제곱. Closing quotes and brackets are skipped (``'all'``은), and
  ``모양(shape)`` is read by the Korean word before its gloss.
- Anything else gets both forms, as Korean writes when unsure: 은(는), 이(가), (으)로.
"""

from __future__ import annotations

import re

_VOWEL, _RIEUL, _CONSONANT = "vowel", "ㄹ", "consonant"

#: How each digit is read as a Korean numeral: 영 일 이 삼 사 오 육 칠 팔 구.
_KOREAN_DIGIT = (_CONSONANT, _RIEUL, _VOWEL, _CONSONANT, _VOWEL, _VOWEL, _CONSONANT, _RIEUL,
                 _RIEUL, _VOWEL)
#: Trailing zeros 1-3: 십 백 천; every four more: 만 억 조 경.
_TENS = {1: _CONSONANT, 2: _CONSONANT, 3: _CONSONANT}
_MYRIADS = {1: _CONSONANT, 2: _CONSONANT, 3: _VOWEL, 4: _CONSONANT}
#: A digit read in English: zero one two three four five six seven eight nine.
_ENGLISH_DIGIT = (_VOWEL, _CONSONANT, _VOWEL, _VOWEL, _VOWEL, _VOWEL, _VOWEL, _CONSONANT, _VOWEL,
                  _CONSONANT)
#: Letter names: 엘, 알 end in ㄹ; 엠, 엔 in a consonant; every other letter in a vowel.
_LETTER = {"l": _RIEUL, "r": _RIEUL, "m": _CONSONANT, "n": _CONSONANT}
_SYMBOL = {"%": _VOWEL, "²": _CONSONANT, "³": _CONSONANT}
_CLOSERS = "'\"`)]}>.,;:!? \t\n"
_VOWELS = "aeiou"


def _hangul(char: str) -> str:
    final = (ord(char) - 0xAC00) % 28
    return _VOWEL if final == 0 else _RIEUL if final == 8 else _CONSONANT


def _number(digits: str) -> str:
    """The ending of a whole number's digits read as Korean numerals."""
    digits = digits.lstrip("0") or "0"
    if digits == "0":
        return _KOREAN_DIGIT[0]
    zeros = len(digits) - len(digits.rstrip("0"))
    if zeros == 0:
        return _KOREAN_DIGIT[int(digits[-1])]
    if zeros < 4:
        return _TENS[zeros]
    return _MYRIADS.get(zeros // 4, _CONSONANT)


def _english(word: str) -> str:
    """The ending of a run of Latin letters read as a Korean reader says it."""
    if len(word) == 1 or word[-1].isupper():
        return _LETTER.get(word[-1].lower(), _VOWEL)
    word = word.lower()
    if word.endswith(("l", "le")):
        return _RIEUL
    if word.endswith(("m", "n", "ng", "c")) or (len(word) > 2 and word.endswith(("me", "ne"))):
        return _CONSONANT
    one_short_vowel = (len(word) >= 2 and word[-2] in _VOWELS
                       and (len(word) == 2 or word[-3] not in _VOWELS))
    if word.endswith("ck") or (word[-1] in "ptk" and one_short_vowel):
        return _CONSONANT
    return _VOWEL


def _strip_gloss(text: str) -> str:
    """Drop closing quotes and brackets, and a gloss after a Korean word: 모양(shape) → 모양."""
    text = text.rstrip(_CLOSERS)
    gloss = re.search(r"([\uac00-\ud7a3])\([^()]*\)?$", text)
    if gloss:
        return text[:gloss.start(1) + 1]
    return text


def _ending(text: str) -> str | None:
    """How ``text`` ends when read aloud: a vowel, ㄹ, another consonant, or None if unknown."""
    text = _strip_gloss(text)
    if not text:
        return None
    last = text[-1]
    if "\uac00" <= last <= "\ud7a3":
        return _hangul(last)
    if last in _SYMBOL:
        return _SYMBOL[last]
    if last.isascii() and last.isdigit():
        run = re.search(r"[0-9][0-9.,]*$", text).group()
        before = text[: len(text) - len(run)]
        if "." in run:
            return _KOREAN_DIGIT[int(run[-1])]  # digits after a point are read one by one
        if before[-1:].isascii() and before[-1:].isalpha():
            return _ENGLISH_DIGIT[int(run[-1])]
        return _number(run.replace(",", ""))
    if last.isascii() and last.isalpha():
        return _english(re.search(r"[A-Za-z]+$", text).group())
    return None


def with_particle(word: object, particle: str) -> str:
    """Return ``word`` followed by the right form of ``particle``, e.g. ("42", "이/가") → "42가".

    ``particle`` is written consonant form / vowel form: "은/는", "이/가", "을/를", "과/와",
    "으로/로", "이어야/여야", "이면/면". The word's last sound is found by the rules in this
    module's docstring; when it cannot be told, both forms are written ("은(는)", "(으)로").
    Used by helpers.checks.{api, controlnet, editing_and_personalization, failure_cases,
    flow_matching, forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    responsible_generation, reverse_diffusion, running_stable_diffusion, setup_check} (no notebook
    calls it).
    """
    after_consonant, after_vowel = particle.split("/")
    text = str(word)
    ending = _ending(text)
    if ending is None:
        if after_consonant == "으" + after_vowel:
            return f"{text}(으){after_vowel}"
        if after_consonant.startswith("이") and particle != "이/가":
            return text + after_consonant  # the copula's full form (이어야, 이면) fits both
        return f"{text}{after_consonant}({after_vowel})"
    if ending == _VOWEL or (ending == _RIEUL and after_consonant == "으" + after_vowel):
        return text + after_vowel
    return text + after_consonant
