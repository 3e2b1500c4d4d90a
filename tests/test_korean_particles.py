"""Korean particles after numbers, English words and Hangul, and the checkers' messages use them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from helpers import checks
from helpers.checks.korean_particles import with_particle

CASES = [
    # Hangul: the last syllable's final consonant; ㄹ takes 로
    ("결과", "은/는", "결과는"), ("임베딩", "은/는", "임베딩은"), ("모양", "이/가", "모양이"),
    ("그림", "을/를", "그림을"), ("하늘", "으로/로", "하늘로"), ("바다", "과/와", "바다와"),
    ("모양(shape)", "이/가", "모양(shape)이"),  # read by the Korean word before its gloss
    # numbers as Korean numerals: 영 일 이 삼 사 오 육 칠 팔 구
    (0, "을/를", "0을"), (1, "이/가", "1이"), (1, "으로/로", "1로"), (2, "이/가", "2가"),
    (3, "으로/로", "3으로"), (4, "은/는", "4는"), (5, "과/와", "5와"), (6, "이/가", "6이"),
    (7, "으로/로", "7로"), (8, "은/는", "8은"), (9, "이/가", "9가"), (42, "이/가", "42가"),
    (43, "이/가", "43이"), (259, "은/는", "259는"), (-2, "이면/면", "-2면"), (3, "이면/면", "3이면"),
    # trailing zeros: 십 백 천 만 ... 억 조
    (10, "은/는", "10은"), (20, "으로/로", "20으로"), (100, "이/가", "100이"), (1000, "을/를", "1000을"),
    (10_000, "은/는", "10000은"), (300_000, "이/가", "300000이"), (10**8, "이/가", "100000000이"),
    (10**12, "이/가", "1000000000000가"), ("1,000", "이/가", "1,000이"),
    # decimals: digits after the point one by one
    (0.5, "이/가", "0.5가"), ("0.50", "이/가", "0.50이"), ("0.1429", "이어야/여야", "0.1429여야"),
    (1.0, "이어야/여야", "1.0이어야"), ("2.0²", "과/와", "2.0²과"), ("1e-06", "이면/면", "1e-06이면"),
    ("50%", "이/가", "50%가"),
    # English: letter names for single letters and upper-case endings
    ("KL", "은/는", "KL은"), ("KL", "으로/로", "KL로"), ("x_t", "이/가", "x_t가"), ("z", "은/는", "z는"),
    ("IoU", "은/는", "IoU는"), ("DDIM", "이/가", "DDIM이"), ("GAN", "과/와", "GAN과"),
    # English words as loanwords are read
    ("all", "은/는", "all은"), ("all", "으로/로", "all로"), ("circle", "을/를", "circle을"),
    ("circle", "으로/로", "circle로"), ("inpainting", "은/는", "inpainting은"), ("magic", "이/가", "magic이"),
    ("black", "이/가", "black이"), ("top", "이/가", "top이"), ("cat", "을/를", "cat을"),
    ("x0_hat", "은/는", "x0_hat은"), ("time", "이/가", "time이"), ("baseline", "은/는", "baseline은"),
    ("bottom", "이/가", "bottom이"), ("green", "이/가", "green이"),
    ("red", "이/가", "red가"), ("white", "이/가", "white가"), ("center", "이/가", "center가"),
    ("linear", "은/는", "linear는"), ("steps", "이/가", "steps가"), ("prompt", "을/를", "prompt를"),
    ("square", "과/와", "square와"), ("guided", "은/는", "guided는"),
    # digits glued to letters are read in English: zero, one, two, ... seven, nine
    ("x0", "이/가", "x0가"), ("v2", "은/는", "v2는"), ("sd1", "은/는", "sd1은"),
    # closing quotes and brackets are skipped
    ("'all'", "은/는", "'all'은"), ("'inpainting'", "은/는", "'inpainting'은"),
    ((4, 64, 64), "이어야/여야", "(4, 64, 64)여야"), ((2, 3), "이어야/여야", "(2, 3)이어야"),
    ("tensor(259)", "이/가", "tensor(259)가"),
    # what cannot be read gets both forms
    ("→", "은/는", "→은(는)"), ("→", "이/가", "→이(가)"), ("→", "을/를", "→을(를)"),
    ("→", "으로/로", "→(으)로"), ("→", "이어야/여야", "→이어야"), ("", "과/와", "과(와)"),
]


@pytest.mark.parametrize("word, particle, expected", CASES, ids=lambda v: str(v))
def test_with_particle(word, particle, expected):
    assert with_particle(word, particle) == expected


PARTICLE_AFTER_A_VALUE = re.compile(
    r"\}(이어야|여야|이면|으로|이|가|은|는|을|를|과|와|로|면)(?![가-힣])|은\(는\)|이\(가\)|을\(를\)|\(으\)로")


def test_no_checker_message_glues_a_fixed_particle_to_a_value():
    """A particle after an f-string value must come from with_particle ("42이", "all는" were bugs)."""
    modules = sorted(p for p in Path(checks.__file__).parent.glob("*.py") if p.name != "korean_particles.py")
    assert len(modules) == 15  # __init__, api, grading and one module per notebook, 00 to 11
    glued = [f"{path.name}: {line.strip()}" for path in modules for line in path.read_text().splitlines()
             if PARTICLE_AFTER_A_VALUE.search(line)]
    assert not glued


def test_checker_messages_pick_the_right_particle():
    # seed 42 for the first generator: "42가 아닙니다", not "42이"
    verdict = checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s + i + 1)
                                                   for i in range(n)])
    assert "seed + 0 = 42가 아닙니다." in verdict.message
    verdict = checks.check_snr_share({"linear": 10, "scaled_linear": 35.4, "squaredcos_cap_v2": 49.6})
    assert "linear" in verdict.message and verdict.kind == "wrong"
    verdict = checks.check_frechet_1d(lambda m1, s1, m2, s2: 0.0)
    assert "N(1.0, 2.0²)과 N(4.0, 2.0²)이면 9인데 0입니다." in verdict.message
    verdict = checks.check_img2img_steps(lambda steps, s: 3)
    assert "steps=20, strength=0.4면 8걸음인데 3입니다." in verdict.message
    verdict = checks.check_latent_shape(lambda h, w, f, c: (c, w // f, h // f))
    assert "channels=4면 (4, 96, 64)인데 (4, 64, 96)을 돌려주었습니다." in verdict.message
