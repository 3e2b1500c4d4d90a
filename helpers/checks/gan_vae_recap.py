"""Exercise checkers of 01_gan_vae_recap: the reparameterisation trick and the VAE's KL term.

Each ``check_*`` is shown to students as ``helpers.checks.check_*``; the checker API is in
``helpers.checks.api``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from helpers.checks.api import call, checker, close, expect, expect_tensor
from helpers.checks.korean_particles import with_particle


@checker
def check_reparameterize(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` is the reparameterisation trick z = mu + sigma * eps.

    Checks the shape, the mean and standard deviation over 20,000 draws, and that gradients
    flow to both ``mu`` and ``logvar`` (the point of the trick).
    Used in 01_gan_vae_recap.
    """
    torch.manual_seed(0)
    n = 20_000
    mu = torch.tensor([2.0, -1.0]).repeat(n, 1).requires_grad_(True)
    logvar = torch.log(torch.tensor([0.25, 4.0])).repeat(n, 1).requires_grad_(True)
    z = call(fn, mu, logvar)
    expect_tensor(z, (n, 2), "z")
    draws = z.detach().cpu().double()  # any float dtype
    mean, std = draws.mean(0), draws.std(0)
    expect(torch.allclose(mean, torch.tensor([2.0, -1.0], dtype=torch.float64), atol=0.05),
           f"z의 평균이 mu=(2, -1)이어야 하는데 {mean.tolist()}입니다.")
    expect(torch.allclose(std, torch.tensor([0.5, 2.0], dtype=torch.float64), rtol=0.05),
           f"z의 표준편차가 (0.5, 2)여야 하는데 {[round(s, 3) for s in std.tolist()]}입니다. "
           "logvar는 로그 분산(log variance)입니다: 표준편차 = exp(0.5 * logvar).")
    expect(z.requires_grad, "z에서 mu와 logvar로 기울기(gradient)가 흐르지 않습니다.")
    (z * torch.tensor([1.0, 2.0])).sum().backward()
    expect(mu.grad is not None and torch.allclose(mu.grad, torch.tensor([1.0, 2.0]).expand(n, 2)),
           "dz/dmu가 1이어야 합니다: 잡음을 mu와 sigma 밖에서 뽑아 더하세요.")
    expect(logvar.grad is not None and logvar.grad.abs().sum() != 0,
           "logvar로 기울기가 흐르지 않습니다: torch.normal 대신 torch.randn_like를 쓰세요.")
    return "잡음 eps를 밖에서 뽑으니 mu와 logvar로 기울기가 흐릅니다."


def reference_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Return KL(N(mu, exp(logvar)) || N(0, 1)) per row, summed over the latent dimensions.

    Used only by tests/test_check.py, tests/test_check_student_answers.py (no notebook, helper or
    tool calls it).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


@checker
def check_kl(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` gives the VAE's KL term per sample, shape (B,).

    Compared with ``torch.distributions.kl_divergence`` on seeded random inputs.
    Used in 01_gan_vae_recap.
    """
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=generator)
    logvar = torch.randn(6, 4, generator=generator)
    kl = call(fn, mu, logvar)
    expect_tensor(kl, (6,), "KL", " 잠재 차원(dim=1)으로 더해서 샘플마다 하나의 값을 돌려주세요.")
    normal = torch.distributions.Normal
    expected = torch.distributions.kl_divergence(
        normal(mu, (0.5 * logvar).exp()), normal(torch.zeros_like(mu), torch.ones_like(mu))
    ).sum(1)
    expect(close(kl, expected, atol=1e-4),
           f"첫 샘플의 KL이 {with_particle(f'{expected[0]:.4f}', '이어야/여야')} 하는데 "
           f"{float(kl[0]):.4f}입니다. "
           "0.5 * (mu² + σ² - log σ² - 1)을 잠재 차원으로 더합니다.")
    return "KL이 0이 되려면 mu=0, σ=1, 곧 사전분포(prior)와 같아야 합니다."
