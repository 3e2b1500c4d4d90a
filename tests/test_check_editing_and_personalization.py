"""Checkers of 09_editing_and_personalization: right answers pass, typical wrong ones get their own hint."""

from __future__ import annotations

import numpy as np
import torch

from helpers import checks


def lora_forward(x, W, A, B, alpha, rank):
    return x @ W.T + (alpha / rank) * (x @ A.T @ B.T)


def test_check_lora_forward_passes_the_right_answer_in_any_float_dtype():
    assert checks.check_lora_forward(lora_forward)
    assert checks.check_lora_forward(lambda x, W, A, B, alpha, rank: x @ (W + alpha / rank * B @ A).T)
    assert checks.check_lora_forward(lambda x, W, A, B, alpha, rank: lora_forward(x.double(), W.double(),
                                                                                  A.double(), B.double(),
                                                                                  alpha, rank))


def test_check_lora_forward_names_each_common_mistake():
    cases = {
        "빠뜨렸습니다": lambda x, W, A, B, alpha, rank: x @ W.T + x @ A.T @ B.T,
        "뒤집혔습니다": lambda x, W, A, B, alpha, rank: x @ W.T + (rank / alpha) * (x @ A.T @ B.T),
        "원래 층의 출력": lambda x, W, A, B, alpha, rank: (alpha / rank) * (x @ A.T @ B.T),
        "전치(transpose)": lambda x, W, A, B, alpha, rank: x @ W + (alpha / rank) * (x @ A.T @ B.T),
        "곱의 순서": lambda x, W, A, B, alpha, rank: x @ W.T + (alpha / rank) * (x @ B.T @ A.T),
        "mm 대신 @": lambda x, W, A, B, alpha, rank: x.mm(W.t()) + (alpha / rank) * x.mm(A.t()).mm(B.t()),
    }
    for words, answer in cases.items():
        verdict = checks.check_lora_forward(answer)
        assert not verdict and verdict.kind == "wrong", words
        assert words in verdict.message, (words, verdict.message)


def test_check_lora_forward_todo_and_crash():
    assert checks.check_lora_forward(None).kind == "todo"

    def not_yet(x, W, A, B, alpha, rank):
        raise NotImplementedError

    assert checks.check_lora_forward(not_yet).kind == "todo"
    verdict = checks.check_lora_forward(lambda x, W, A, B, alpha, rank: 1 / 0)
    assert verdict.kind == "wrong" and "ZeroDivisionError" in verdict.message
    verdict = checks.check_lora_forward(lambda x, W, A, B, alpha, rank: x.numpy())
    assert verdict.kind == "wrong" and "torch.Tensor" in verdict.message


def tiny_lora_unet():
    """Two LoRA layers (peft, like ``personalize.add_lora``): 'big' changed 50% of W, 'small' 10%."""
    from peft import LoraConfig, inject_adapter_in_model

    model = torch.nn.Sequential()
    model.add_module("big", torch.nn.Linear(4, 4, bias=False))
    model.add_module("small", torch.nn.Linear(4, 4, bias=False))
    model = inject_adapter_in_model(LoraConfig(r=1, lora_alpha=2, target_modules=["big", "small"]), model)
    with torch.no_grad():
        model.big.base_layer.weight.copy_(torch.eye(4))  # ||W|| = 2
        model.small.base_layer.weight.copy_(100 * torch.eye(4))  # ||W|| = 200
        for layer, added in ((model.big, 1.0), (model.small, 20.0)):  # ||(alpha/r) B A|| = 2 * added / 2
            layer.lora_A["default"].weight.copy_(torch.tensor([[1.0, 0, 0, 0]]))
            layer.lora_B["default"].weight.copy_(torch.tensor([[added / 2], [0], [0], [0]]))
    return model


def test_check_most_changed_layer_re_measures_the_unet():
    unet = tiny_lora_unet()
    assert checks.check_most_changed_layer("big", unet)
    assert checks.check_most_changed_layer(" big ", unet)  # a stray space is fine
    verdict = checks.check_most_changed_layer("small", unet)
    assert verdict.kind == "wrong" and "원래 가중치 W의 크기로 나누어" in verdict.message
    verdict = checks.check_most_changed_layer("nowhere", unet)
    assert verdict.kind == "wrong" and "이런 이름의 LoRA 층은 없습니다" in verdict.message
    verdict = checks.check_most_changed_layer(np.float64(0.5), unet)
    assert verdict.kind == "wrong" and "층의 이름(문자열)" in verdict.message
    assert checks.check_most_changed_layer(None, unet).kind == "todo"


def test_check_most_changed_layer_names_the_least_changed_layer():
    unet = tiny_lora_unet()
    with torch.no_grad():
        unet.small.base_layer.weight.copy_(10 * torch.eye(4))  # now 'small' changed more, not by size alone
        unet.big.lora_B["default"].weight.mul_(0.1)
    assert checks.check_most_changed_layer("small", unet)
    verdict = checks.check_most_changed_layer("big", unet)
    assert verdict.kind == "wrong" and "가장 *적게* 바뀐 층" in verdict.message


def test_check_most_changed_layer_needs_a_lora_unet():
    verdict = checks.check_most_changed_layer("big", torch.nn.Sequential(torch.nn.Linear(2, 2)))
    assert verdict.kind == "wrong" and "LoRA 층이 없습니다" in verdict.message
