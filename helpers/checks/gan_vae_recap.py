"""Exercise checkers of 01_gan_vae_recap: reparameterisation, the KL term, a colour switch measured.

The reparameterisation trick, the VAE's KL term, and a measurement along the VAE's latent
interpolation.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import as_number, call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle
from helpers.shapes import reader


def _near(values: torch.Tensor, target: list[float], rtol: float = 0.05) -> bool:
    """Return True if every value is within ``rtol`` (relative) of its target."""
    target_t = torch.tensor(target, dtype=torch.float64)
    return bool(torch.all((values - target_t).abs() <= rtol * target_t.abs() + 1e-3))


@checker
def check_reparameterize(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` is the reparameterisation trick z = mu + sigma * eps.

    Checks the shape, the mean (within 0.05) and the standard deviation (within 5%) over
    20,000 draws of two latent dimensions (mu = (2, -1), variance = (0.25, 4)), and that
    gradients flow to both ``mu`` and ``logvar`` (the point of the trick). Recognises: the
    variance exp(logvar) used as the standard deviation, logvar used as sigma, mu forgotten,
    no noise (or one noise number for all), noise drawn with torch.normal (no gradient).
    Used in 01_gan_vae_recap.
    """
    torch.manual_seed(0)
    n = 20_000
    mu = torch.tensor([2.0, -1.0]).repeat(n, 1).requires_grad_(True)
    logvar = torch.log(torch.tensor([0.25, 4.0])).repeat(n, 1).requires_grad_(True)
    z = call(fn, mu, logvar)
    expect_tensor(z, (n, 2), "z", " z는 mu와 같은 모양입니다: 잡음도 mu와 같은 모양으로 뽑으세요.")
    draws = z.detach().cpu().double()  # any float dtype
    expect(bool(torch.isfinite(draws).all()),
           "z에 NaN이나 inf가 있습니다: logvar는 음수일 수 있으니 제곱근(sqrt)을 바로 씌우지 말고 "
           "exp로 양수로 바꾸세요.")
    mean, std = draws.mean(0), draws.std(0)
    expect(float(std.max()) > 1e-3,
           "z가 모두 같은 값입니다: 표본마다 다른 잡음 eps를 mu와 같은 모양으로 뽑아 "
           "(torch.randn_like) sigma를 곱해 더하세요.")
    expect(float(mean.abs().max()) > 0.1,
           "z의 평균이 0입니다: 잡음에 sigma를 곱한 것에 평균 mu를 더해야 합니다.")
    expect(not _near(std, [0.25, 4.0]),
           "z의 표준편차가 (0.25, 4), 곧 분산 exp(logvar)입니다. logvar는 로그 '분산'이므로 "
           "표준편차 sigma는 분산의 제곱근입니다: 지수(exp)에 넣기 전에 무엇을 곱해야 할까요?")
    expect(not _near(std, [1.386, 1.386], rtol=0.05),
           "z의 표준편차가 |logvar|입니다: logvar를 그대로 sigma로 썼습니다. logvar = log σ²에서 "
           "σ를 꺼내세요.")
    expect(_near(mean, [2.0, -1.0], rtol=0.025),
           f"z의 평균이 mu=(2, -1)이어야 하는데 {[round(m, 3) for m in mean.tolist()]}입니다.")
    expect(_near(std, [0.5, 2.0]),
           f"z의 표준편차가 (0.5, 2)여야 하는데 {[round(s, 3) for s in std.tolist()]}입니다. "
           "logvar는 로그 분산(log variance)입니다.")
    expect(z.requires_grad,
           "z에서 mu와 logvar로 기울기(gradient)가 흐르지 않습니다: torch.normal처럼 표본을 직접 "
           "뽑는 함수는 기울기를 끊습니다. 표준정규 잡음만 뽑고, 나머지는 mu와 sigma의 계산으로 쓰세요.")
    (z * torch.tensor([1.0, 2.0], dtype=z.dtype)).sum().backward()
    expect(mu.grad is not None and torch.allclose(mu.grad, torch.tensor([1.0, 2.0]).expand(n, 2)),
           "dz/dmu가 1이어야 합니다: torch.normal처럼 표본을 직접 뽑는 함수는 mu와 sigma로 기울기를 "
           "제대로 전하지 않습니다. 표준정규 잡음만 따로 뽑고, mu와 sigma는 계산으로 합치세요.")
    expect(logvar.grad is not None and logvar.grad.abs().sum() != 0,
           "logvar로 기울기가 흐르지 않습니다: 잡음은 torch.randn_like로 뽑고, sigma는 logvar에서 계산하세요.")
    return "잡음 eps를 밖에서 뽑으니 mu와 logvar로 기울기가 흐릅니다."


def reference_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Return KL(N(mu, exp(logvar)) || N(0, 1)) per row, summed over the latent dimensions.

    Used by helpers.checks.gan_vae_recap (no notebook calls it).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


@checker
def check_kl(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` gives the VAE's KL term per sample, shape (B,).

    Compared with ``torch.distributions.kl_divergence`` on seeded random inputs (6 samples,
    4 latent dimensions), within 1e-4. Recognises: a mean over the latent dimensions instead
    of a sum, the 1/2 forgotten, the -1 forgotten, sigma used where sigma² belongs, a second
    log of logvar (NaN), one number for the whole batch.
    Used in 01_gan_vae_recap.
    """
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=generator)
    logvar = torch.randn(6, 4, generator=generator)
    kl = call(fn, mu, logvar)
    expect(not (isinstance(kl, torch.Tensor) and kl.numel() == 1),
           "KL이 숫자 하나입니다: 배치 전체를 더하거나 평균하지 말고, 샘플마다 하나씩 모양 (B,)로 "
           "돌려주세요 (잠재 차원 dim=1로만 더합니다).")
    expect_tensor(kl, (6,), "KL", " 잠재 차원(dim=1)으로 더해서 샘플마다 하나의 값을 돌려주세요.")
    value = kl.detach().cpu().double()
    expect(bool(torch.isfinite(value).all()),
           "KL에 NaN이 있습니다: logvar는 이미 log σ²이니 다시 log를 씌우지 마세요 "
           "(logvar는 음수일 수 있습니다).")
    expected = reference_kl(mu.double(), logvar.double())
    d = mu.shape[1]
    expect(not close(kl, expected / d, atol=1e-4),
           "잠재 차원으로 평균(mean)을 냈습니다: KL은 차원마다의 값을 더한(sum) 것입니다.")
    expect(not close(kl, 2 * expected, atol=1e-4), "모든 값이 두 배입니다: 앞의 1/2을 빠뜨렸나요?")
    expect(not close(kl, expected + 0.5 * d, atol=1e-4),
           "차원마다 0.5씩 큽니다: 괄호 안의 -1을 빠뜨렸습니다. mu=0, σ=1이면 KL이 0이어야 합니다.")
    sigma_for_variance = 0.5 * (mu.pow(2) + (0.5 * logvar).exp() - logvar - 1).sum(1)
    expect(not close(kl, sigma_for_variance.double(), atol=1e-4),
           "σ² 자리에 σ = exp(logvar / 2)를 썼습니다: 분산은 exp(logvar) 그대로입니다.")
    expect(close(kl, expected, atol=1e-4),
           f"첫 샘플의 KL이 {with_particle(f'{float(expected[0]):.4f}', '이어야/여야')} 하는데 "
           f"{float(value[0]):.4f}입니다. σ² = exp(logvar), log σ² = logvar로 바꿔 쓰고, "
           "잠재 차원으로 더했는지 확인하세요.")
    return "KL이 0이 되려면 mu=0, σ=1, 곧 사전분포(prior)와 같아야 합니다."


def _first_switch(encoder: torch.nn.Module, decoder: torch.nn.Module, start: torch.Tensor,
                  end: torch.Tensor, points: int) -> tuple[list[float], list[str | None], str | None]:
    """Return the weights, the object colours read along the mu-interpolation, and the end's colour."""
    def batch(x: torch.Tensor) -> torch.Tensor:
        return x if x.dim() == 4 else x.unsqueeze(0)

    def pictures(x: torch.Tensor) -> list:
        pixels = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return list(pixels.permute(0, 2, 3, 1).numpy())

    device = next(encoder.parameters()).device
    with torch.no_grad():
        both = torch.cat([batch(start), batch(end)]).to(device)
        mu = encoder(both).chunk(2, dim=1)[0]
        weights = torch.linspace(0, 1, points, device=device)[:, None]
        path = decoder((1 - weights) * mu[0] + weights * mu[1])
    colours = [reader.read(p)["color"] for p in pictures(path)]
    target = reader.read(pictures(batch(end))[0])["color"]
    return [round(w, 6) for w in weights.flatten().tolist()], colours, target


@checker
def check_colour_switch(answer: object, encoder: torch.nn.Module, decoder: torch.nn.Module,
                        start: torch.Tensor, end: torch.Tensor, points: int = 21) -> str:
    """Return a true Verdict if ``answer`` is the first weight at which the object reads as the end's colour.

    The checker re-measures: it encodes ``start`` and ``end`` (pictures in [-1, 1]) to their
    mu, decodes ``points`` evenly spaced weights w in [0, 1] of (1 - w) * mu_start + w * mu_end,
    reads each picture's object colour with the Shapes reader and finds the smallest w whose
    colour is the end picture's. Tolerance: 0.01 (the answer must be that grid weight; the
    re-measurement runs on the same models and device, so it is deterministic). Recognises:
    the index instead of the weight, the last weight before the switch, a guess of 0.5.
    Used in 01_gan_vae_recap.
    """
    value = as_number(answer, "답")
    weights, colours, target = _first_switch(encoder, decoder, start, end, points)
    switch = next((i for i, c in enumerate(colours) if c == target), None)
    expect(switch is not None, f"다시 재 보니 경로 위의 어느 그림도 끝 그림의 색({target})으로 읽히지 "
           "않습니다: 인코더와 디코더가 학습된 것인지 확인하세요.")
    step = weights[1] - weights[0]
    right = weights[switch]
    if abs(value - right) <= 0.01:
        read = [c or "none" for c in colours]
        seen = " → ".join(c for i, c in enumerate(read) if i == 0 or c != read[i - 1])  # runs merged
        return (f"w = {right:.2f}에서 처음 {target}. 판독기가 읽은 색의 순서: {seen}. "
                "중간에는 두 끝 어디에도 없는 색이 지나갑니다.")
    expect(not (value == int(value) and int(value) == switch and value > 1),
           f"{with_particle(int(value), '은/는')} 가중치의 번호(index)입니다: 그 번호의 가중치 w "
           "(0과 1 사이의 값)를 답하세요.")
    expect(not (switch > 0 and abs(value - weights[switch - 1]) <= 0.01),
           "한 칸 앞입니다: 그 가중치의 그림은 아직 끝 그림의 색이 아닙니다. 처음으로 끝 그림의 색으로 "
           "읽히는 가중치를 답하세요.")
    expect(not abs(value - 0.5) <= 0.01,
           "0.5는 짐작한 값 아닌가요? 잠재 공간의 한가운데가 색의 한가운데는 아닙니다: "
           "가중치마다 디코딩해 판독기로 읽어 보세요.")
    expect(0 <= value <= 1, f"가중치 w는 0과 1 사이입니다 (받은 것: {value:g}).")
    return _wrong_weight(value, weights, colours, target, step)


def _wrong_weight(value: float, weights: list[float], colours: list, target: str | None,
                  step: float) -> str:
    """Raise the hint for a weight in [0, 1] that is not the first switch."""
    nearest = min(range(len(weights)), key=lambda i: abs(weights[i] - value))
    read = colours[nearest] or "none"
    expect(False, f"w = {weights[nearest]:.2f}의 그림은 {with_particle(read, '으로/로')} 읽힙니다. "
           f"가중치를 {step:.2f}씩 0부터 늘려 가며, 물체 색이 처음으로 {with_particle(target, '이/가')} "
           "되는 w를 찾으세요.")
    return ""
