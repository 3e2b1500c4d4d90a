"""Exercise checkers of 06_prompt_engineering: the Shapes full caption, mixing two embeddings, where a mix turns blue.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from helpers.checks.api import Hint, as_number, brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_full_prompt(fn: Callable) -> str:
    """Return a true Verdict if ``fn(shape, size, color, position, background)`` is the Shapes full caption.

    Compared word for word with ``shapes.caption`` on every shape and a few other attributes.
    Used in 06_prompt_engineering.
    """
    from helpers.shapes import Shape, caption, parse_caption

    items = [Shape("circle", "large", "red", "center", "blue"), Shape("triangle", "small", "yellow", "left", "black"),
             Shape("square", "large", "white", "bottom", "purple")]
    for item in items:
        answer = call(fn, item.shape, item.size, item.color, item.position, item.background)
        expect(isinstance(answer, str), f"문자열(str) 하나를 돌려주세요 (받은 것: {brief(answer)}).")
        if answer != caption(item):
            hint = ""
            if isinstance(answer, str):
                try:
                    if parse_caption(answer) == item.as_dict():
                        hint = " 뜻은 맞지만 띄어쓰기나 글자가 문법과 조금 다릅니다."
                except ValueError:
                    hint = " 단어 순서가 문법과 다릅니다: size, color, shape, position, background."
            raise Hint(f"{with_particle(repr(caption(item)), '이어야/여야')} 하는데 {brief(answer, 200)}입니다.{hint}")
    return "다 말한 캡션은 판독기가 다섯 속성을 모두 잴 수 있습니다."


@checker
def check_mix_embeddings(fn: Callable) -> str:
    """Return a true Verdict if ``fn(emb_a, emb_b, weight)`` is (1 - weight) * emb_a + weight * emb_b.

    Checked at weights 0, 0.3 and 1 on seeded embeddings shaped like SD's (1, 77, 768), within
    1e-5 in any float dtype. Recognises A and B swapped, a sum whose weights do not add up to 1,
    and an answer that changes ``emb_a`` or ``emb_b`` in place.
    Used in 06_prompt_engineering.
    """
    generator = torch.Generator().manual_seed(0)
    emb_a = torch.randn(1, 77, 768, generator=generator)
    emb_b = torch.randn(1, 77, 768, generator=generator)
    for weight in (0.0, 0.3, 1.0):
        given_a, given_b = emb_a.clone(), emb_b.clone()
        mixed = call(fn, given_a, given_b, weight)
        expect(torch.equal(given_a, emb_a) and torch.equal(given_b, emb_b),
               "함수가 받은 임베딩 자체를 바꿨습니다(+=, *= 같은 제자리 연산): 다음 비율에서 쓸 원본이 "
               "망가지니 새 텐서를 만들어 돌려주세요.")
        expect_tensor(mixed, (1, 77, 768), "섞은 임베딩")
        if close(mixed, (1 - weight) * emb_a + weight * emb_b):
            continue
        differs = f"weight = {weight}에서 값이 다릅니다"
        expect(not close(mixed, weight * emb_a + (1 - weight) * emb_b),
               f"{differs}: A와 B가 뒤바뀌었습니다. weight는 B의 무게라서 weight = 0이면 A 그대로, "
               "1이면 B 그대로입니다.")
        expect(not (close(mixed, emb_a + weight * emb_b) or close(mixed, (1 - weight) * emb_a + emb_b)),
               f"{differs}: 두 임베딩에 준 무게를 더한 값이 1이 아닙니다. "
               "한쪽이 커지면 다른 쪽은 그만큼 작아져야 임베딩의 크기가 유지됩니다.")
        raise Hint(f"{differs}. weight = 0이면 A, 1이면 B 그대로이고, "
                   "그 사이에서는 weight에 비례해 A에서 B 쪽으로 옮겨 가야 합니다.")
    return "섞는 비율로 두 프롬프트 사이를 부드럽게 오갈 수 있습니다."


#: The mixing weights of the crossing exercise: 0, 0.1, ..., 1.0.
CROSSING_GRID = tuple(round(0.1 * i, 1) for i in range(11))
#: The two prompts of 06's mixing section on the mini model (A red, B blue) and their first seed.
MIX_PROMPTS = ("a large red circle at the center", "a large blue circle at the center")
MIX_SEED = 900


def blue_share(pipe: Any, weight: float, seeds: int) -> float:
    """Return the share of ``seeds`` pictures read as blue, drawn from the A/B embeddings mixed at ``weight``.

    The mix is (1 - weight) * A + weight * B of the text encoder's outputs, the unconditional
    side is the empty prompt, picture ``i`` uses a CPU generator seeded ``MIX_SEED + i``, with
    the registry's steps and guidance for the bundled model.
    Used by helpers.checks.prompt_engineering (no notebook calls it).
    """
    from helpers.core.registry import REGISTRY
    from helpers.shapes.reader import read

    with torch.no_grad():
        texts = [*MIX_PROMPTS, ""]
        ids = pipe.tokenizer(texts, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").input_ids
        emb_a, emb_b, emb_empty = pipe.text_encoder(ids.to(pipe.device))[0].split(1)
    mixed = (1 - weight) * emb_a + weight * emb_b
    generators = [torch.Generator("cpu").manual_seed(MIX_SEED + i) for i in range(seeds)]
    entry = REGISTRY["mini-sd"]
    images = pipe(prompt_embeds=mixed.repeat(seeds, 1, 1), negative_prompt_embeds=emb_empty.repeat(seeds, 1, 1),
                  num_inference_steps=entry.steps, guidance_scale=entry.guidance, generator=generators).images
    return float(sum(read(image)["color"] == "blue" for image in images) / seeds)


@checker
def check_mix_crossing(answer: Any, seeds: int = 4, pipe: Any = None) -> str:
    """Return a true Verdict if ``answer`` is the smallest weight of B on 0, 0.1, ..., 1 where half the pictures read blue.

    The checker re-measures with the bundled mini model (``pipe``, loaded on the CPU when None):
    ``blue_share`` at the answer must be at least 0.5 and one grid step below it less than 0.5
    (at 0 only the first). Exact on the grid, no tolerance: the pictures come from fixed seeds.
    Recognises a share given instead of a weight, a weight where fewer than half read blue yet
    (one step too early), and one past the first crossing.
    Used in 06_prompt_engineering.
    """
    value = as_number(answer, "섞는 비율")
    on_grid = [w for w in CROSSING_GRID if abs(w - value) < 1e-6]
    expect(on_grid, f"답은 0, 0.1, …, 1 가운데 하나인 B의 무게여야 하는데 {value:g}입니다 "
                    "(파랑으로 읽힌 비율을 넣지 않았나요?).")
    weight = on_grid[0]
    if pipe is None:
        from helpers.core.loading import load_pipeline

        pipe = load_pipeline("text2img", model="mini-sd", device="cpu")
        pipe.set_progress_bar_config(disable=True)
    seeds = int(seeds)
    share = blue_share(pipe, weight, seeds)
    expect(share >= 0.5, f"a = {weight:g}에서는 파랑으로 읽힌 비율이 {share:.2f}라 아직 절반이 안 됩니다: "
                         "더 큰 a를 보세요.")
    if weight > 0:
        before = round(weight - 0.1, 1)
        earlier = blue_share(pipe, before, seeds)
        expect(earlier < 0.5, f"a = {before:g}에서 이미 파랑이 {earlier:.2f}입니다: 절반에 처음 닿는 "
                              "가장 작은 a를 찾으세요.")
    return (f"다시 재어도 a = {weight:g}에서 처음으로 절반 이상({share:.2f})이 파랑입니다: 임베딩을 "
            "섞는 비율과 그림이 B를 따르는 비율은 같은 눈금이 아닙니다.")
