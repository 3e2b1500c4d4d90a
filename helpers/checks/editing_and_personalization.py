"""Exercise checkers of 09_editing_and_personalization: LoRA (its size, its forward, where it changed most), InstructPix2Pix guidance.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import Hint, as_integer, brief, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_lora_numbers(fn: Callable) -> str:
    """Return a true Verdict if ``fn(d_in, d_out, rank)`` is the number of weights a LoRA adds to a linear layer.

    A LoRA of rank r on a d_in -> d_out layer adds A (r x d_in) and B (d_out x r), no bias:
    r * (d_in + d_out). Checked against ``peft`` on a real layer too.
    Used in 09_editing_and_personalization.
    """
    from peft import LoraConfig, inject_adapter_in_model

    for d_in, d_out, rank in ((64, 64, 4), (64, 128, 4), (320, 768, 8), (10, 3, 1)):
        answer = as_integer(call(fn, d_in, d_out, rank), "돌려준 개수")
        layer = torch.nn.Sequential()
        layer.add_module("proj", torch.nn.Linear(d_in, d_out))
        layer = inject_adapter_in_model(LoraConfig(r=rank, target_modules=["proj"]), layer)
        expected = sum(p.numel() for n, p in layer.named_parameters() if "lora_" in n)
        hint = ""
        if answer == d_in * d_out:
            hint = " 그것은 층 전체(W)의 크기입니다: LoRA는 W 대신 작은 A와 B만 배웁니다."
        elif answer == rank * d_in or answer == rank * d_out:
            hint = " A와 B 둘 다 세어야 합니다."
        expect(answer == expected, f"d_in={d_in}, d_out={d_out}, {with_particle(f'rank={rank}', '이면/면')} "
                                   f"{expected}개인데 {answer}입니다.{hint}")
    return "rank가 작으면 층 크기(d_in × d_out)보다 훨씬 적은 숫자만 배웁니다."


def _peft_lora_output(x: torch.Tensor, weight: torch.Tensor, a: torch.Tensor, b: torch.Tensor,
                      alpha: float, rank: int) -> torch.Tensor:
    """Return what ``peft``'s LoRA layer (the one ``personalize.add_lora`` puts in the UNet) gives for x."""
    from peft import LoraConfig, inject_adapter_in_model

    model = torch.nn.Sequential()
    model.add_module("proj", torch.nn.Linear(weight.shape[1], weight.shape[0], bias=False))
    model = inject_adapter_in_model(LoraConfig(r=rank, lora_alpha=alpha, target_modules=["proj"]), model)
    layer = model.proj
    with torch.no_grad():
        layer.base_layer.weight.copy_(weight)
        layer.lora_A["default"].weight.copy_(a)
        layer.lora_B["default"].weight.copy_(b)
        return layer(x)


@checker
def check_lora_forward(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x, W, A, B, alpha, rank)`` is a LoRA linear layer's output.

    W is the frozen layer's weight (d_out x d_in, as in ``torch.nn.Linear``), A is rank x d_in,
    B is d_out x rank, x is (..., d_in). Compared (within 1e-5, any float dtype) with ``peft``'s own
    LoRA layer loaded with the same seeded matrices, for a square layer, a non-square one and a
    3-D batch of tokens; scale forgotten or upside down, the frozen W x forgotten, W not
    transposed and A, B in the wrong order each get their own hint.
    Used in 09_editing_and_personalization.
    """
    generator = torch.Generator().manual_seed(9)
    cases = (((3, 6), 6, 2, 8.0), ((5, 8), 4, 2, 1.0), ((2, 7, 6), 10, 4, 16.0))
    for x_shape, d_out, rank, alpha in cases:
        d_in = x_shape[-1]
        x = torch.randn(*x_shape, generator=generator)
        weight = torch.randn(d_out, d_in, generator=generator)
        a = torch.randn(rank, d_in, generator=generator)
        b = torch.randn(d_out, rank, generator=generator)
        where = f"x {tuple(x_shape)}, W {(d_out, d_in)}, rank {rank}, alpha {alpha:g}"
        try:
            answer = call(fn, x.clone(), weight.clone(), a.clone(), b.clone(), alpha, rank)
        except Hint as error:
            more = ""
            if x.dim() > 2:
                more = (" 여기서 x는 (배치, 토큰, d_in)처럼 축이 셋입니다: 앞의 축이 몇 개든 되도록 "
                        "mm 대신 @(matmul)로 마지막 축끼리 곱하세요.")
            elif "shape" in str(error) or "size" in str(error):
                more = (" 행렬 곱의 순서를 확인하세요: A는 rank × d_in이라 x에 먼저 닿고, "
                        "B(d_out × rank)가 그 결과를 출력 크기로 넓힙니다. "
                        "(out, in)으로 저장된 행렬은 x @ M.T로 곱합니다.")
            raise Hint(f"{where}에서 {error}.{more}") from None
        expected = _peft_lora_output(x, weight, a, b, alpha, rank)
        expect_tensor(answer, tuple(expected.shape), "결과",
                      " 출력의 마지막 축은 d_out이어야 합니다.")
        low_rank = x @ a.T @ b.T
        base = x @ weight.T
        hint = ""
        if alpha != rank and close(answer, base + low_rank):
            hint = " 저랭크 쪽에 곱하는 세기 alpha / rank를 빠뜨렸습니다."
        elif alpha != rank and close(answer, base + (rank / alpha) * low_rank):
            hint = " 세기가 뒤집혔습니다: rank / alpha가 아니라 alpha / rank입니다."
        elif close(answer, (alpha / rank) * low_rank):
            hint = " 얼려 둔 원래 층의 출력(W를 곱한 것)도 더해야 합니다: LoRA는 W를 바꾸지 않고 옆에 더합니다."
        elif d_in == d_out and close(answer, x @ weight + (alpha / rank) * low_rank):
            hint = (" W를 전치(transpose)하지 않았습니다: nn.Linear의 weight는 (d_out, d_in)이라 "
                    "x @ W.T입니다.")
        expect(close(answer, expected), f"{where}에서 값이 다릅니다.{hint}")
    return ("한 층에 더한 것은 작은 두 행렬의 곱뿐입니다: 학습은 A와 B만 바꾸고, "
            "어댑터 세기(adapter weight)는 이 저랭크 쪽에 곱하는 숫자를 한 번 더 바꿉니다.")


def lora_changes(unet, adapter_name: str = "default") -> dict[str, float]:
    """Return {layer name: ||scaling * B A|| / ||W||} for every LoRA layer of ``unet`` (Frobenius norms).

    Used by helpers.checks.editing_and_personalization (no notebook calls it).
    """
    changes = {}
    for name, module in unet.named_modules():
        if hasattr(module, "lora_A") and adapter_name in module.lora_A:
            with torch.no_grad():
                delta = (module.scaling[adapter_name] * module.lora_B[adapter_name].weight
                         @ module.lora_A[adapter_name].weight)
                changes[name] = float(delta.norm() / module.base_layer.weight.norm())
    return changes


@checker
def check_most_changed_layer(answer: str, unet) -> str:
    """Return a true Verdict if ``answer`` names the layer whose weight the trained LoRA changed most.

    Re-measured from ``unet`` (the LoRA-trained UNet): for each LoRA layer the relative change
    ||(alpha/r) B A|| / ||W|| (Frobenius norms). The answer is right if its change is within 1% of
    the largest (tolerance); the layer with the largest absolute change ||(alpha/r) B A|| and the
    least-changed layer get their own hints.
    Used in 09_editing_and_personalization.
    """
    expect(isinstance(answer, str),
           f"층의 이름(문자열)을 답해야 합니다 (받은 것: {type(answer).__name__} {brief(answer)}). "
           "named_modules()가 주는 이름을 그대로 쓰세요.")
    expect(hasattr(unet, "named_modules"), "checker의 둘째 값에는 5절에서 학습한 lora_pipe.unet을 넣으세요.")
    changes = lora_changes(unet)
    expect(changes, "이 UNet에는 LoRA 층이 없습니다: 5절에서 학습한 lora_pipe.unet을 넣으세요.")
    answer = answer.strip()
    expect(answer in changes,
           f"{brief(answer)}: 이런 이름의 LoRA 층은 없습니다. lora_A가 달린 층의 이름을 "
           f"그대로 쓰세요 (예: {brief(next(iter(changes)))}).")
    best = max(changes, key=changes.get)
    absolute = {}
    for name, module in unet.named_modules():
        if name in changes:
            absolute[name] = changes[name] * float(module.base_layer.weight.norm())
    hint = ""
    if answer == max(absolute, key=absolute.get):
        hint = (" 그것은 더한 행렬 자체가 가장 큰 층입니다: 원래 가중치 W의 크기로 나누어 "
                "*상대적인* 변화를 비교하세요 (층마다 W의 크기가 다릅니다).")
    elif answer == min(changes, key=changes.get):
        hint = " 그것은 가장 *적게* 바뀐 층입니다."
    expect(changes[answer] >= 0.99 * changes[best],
           f"그 층의 상대 변화는 {changes[answer]:.3f}입니다. 가장 큰 층의 변화는 {changes[best]:.3f}입니다.{hint}")
    ranked = sorted(changes.values())
    return (f"{best}: 원래 가중치 크기의 {changes[best]:.0%}만큼을 더했습니다. LoRA 층 {len(changes)}개 중 "
            f"가장 적게 바뀐 층은 {ranked[0]:.0%}입니다: 변화는 고르지 않고 몇 층에 몰립니다.")


@checker
def check_instruct_guidance(fn: Callable) -> str:
    """Return a true Verdict if ``fn`` combines InstructPix2Pix's three noise predictions with its two scales.

    uncond + image_scale * (image_only - uncond) + text_scale * (full - image_only), on seeded
    random tensors.
    Used in 09_editing_and_personalization.
    """
    generator = torch.Generator().manual_seed(9)
    uncond, image_only, full = (torch.randn(2, 4, 8, 8, generator=generator) for _ in range(3))
    for text_scale, image_scale in ((7.5, 1.5), (1.0, 1.0), (3.0, 2.0), (0.0, 0.0)):
        answer = call(fn, uncond.clone(), image_only.clone(), full.clone(), text_scale, image_scale)
        expect_tensor(answer, tuple(uncond.shape), "결과")
        expected = uncond + image_scale * (image_only - uncond) + text_scale * (full - image_only)
        hint = ""
        swapped = uncond + text_scale * (image_only - uncond) + image_scale * (full - image_only)
        if close(answer, swapped) and text_scale != image_scale:
            hint = " 두 가이던스 세기가 뒤바뀌었습니다: 그림 쪽 차이에 image_scale을 곱합니다."
        elif close(answer, uncond + text_scale * (full - uncond)):
            hint = " 그것은 보통의 분류기 없는 가이던스입니다: 그림만 준 예측(image_only)도 써야 합니다."
        expect(close(answer, expected),
               f"text_scale={text_scale}, image_scale={image_scale}에서 값이 다릅니다.{hint}")
    return "두 세기가 따로 있으니, 그림을 얼마나 지킬지와 지시를 얼마나 따를지를 따로 정할 수 있습니다."
