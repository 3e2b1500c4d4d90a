"""Exercise checkers: each takes a student's answer, prints what is right or wrong, returns a bool.

A checker compares the answer with a reference on fixed, seeded inputs, so a wrong answer
fails every time and a right one passes every time. ``None`` (the exercise not yet done)
prints a hint and returns False.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import torch

_TODO = "아직 답이 없습니다: 위의 빈칸(... 또는 None)을 채워 보세요."


def _fail(message: str) -> bool:
    print(message if message == _TODO else f"아직 아닙니다: {message}")
    return False


def _pass(message: str = "") -> bool:
    print("정답!" + (f" {message}" if message else ""))
    return True


def _call(fn: Callable, *args):
    """Return (result, None) or (None, failure message) for ``fn(*args)``."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, _TODO
    except Exception as error:  # a student's bug: report it, do not crash the notebook
        return None, f"함수가 오류를 냈습니다: {type(error).__name__}: {error}"


def _tensor(value, shape: tuple[int, ...], what: str) -> str | None:
    if not isinstance(value, torch.Tensor):
        return f"{what}은(는) torch.Tensor여야 합니다 (받은 것: {type(value).__name__})."
    if tuple(value.shape) != shape:
        return f"{what}의 모양(shape)이 {shape}이어야 하는데 {tuple(value.shape)}입니다."
    return None


def check_reparameterize(fn: Callable | None) -> bool:
    """Return True if ``fn(mu, logvar)`` is the reparameterisation trick z = mu + sigma * eps.

    Checks the shape, the mean and standard deviation over 20,000 draws, and that gradients
    flow to both ``mu`` and ``logvar`` (the point of the trick).
    Introduced in 01_gan_vae_recap.
    """
    if fn is None:
        print(_TODO)
        return False
    torch.manual_seed(0)
    n = 20_000
    mu = torch.tensor([2.0, -1.0]).repeat(n, 1).requires_grad_(True)
    logvar = torch.log(torch.tensor([0.25, 4.0])).repeat(n, 1).requires_grad_(True)
    z, error = _call(fn, mu, logvar)
    if error:
        return _fail(error)
    error = _tensor(z, (n, 2), "z")
    if error:
        return _fail(error)
    mean, std = z.detach().mean(0), z.detach().std(0)
    if not torch.allclose(mean, torch.tensor([2.0, -1.0]), atol=0.05):
        return _fail(f"z의 평균이 mu=(2, -1)이어야 하는데 {mean.tolist()}입니다.")
    if not torch.allclose(std, torch.tensor([0.5, 2.0]), rtol=0.05):
        return _fail(
            f"z의 표준편차가 (0.5, 2)여야 하는데 {[round(s, 3) for s in std.tolist()]}입니다. "
            "logvar는 로그 분산(log variance)입니다: 표준편차 = exp(0.5 * logvar)."
        )
    if not z.requires_grad:
        return _fail("z에서 mu와 logvar로 기울기(gradient)가 흐르지 않습니다.")
    (z * torch.tensor([1.0, 2.0])).sum().backward()
    if mu.grad is None or not torch.allclose(mu.grad, torch.tensor([1.0, 2.0]).expand(n, 2)):
        return _fail("dz/dmu가 1이어야 합니다: 잡음을 mu와 sigma 밖에서 뽑아 더하세요.")
    if logvar.grad is None or logvar.grad.abs().sum() == 0:
        return _fail("logvar로 기울기가 흐르지 않습니다: torch.normal 대신 torch.randn_like를 쓰세요.")
    return _pass("잡음 eps를 밖에서 뽑으니 mu와 logvar로 기울기가 흐릅니다.")


def reference_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Return KL(N(mu, exp(logvar)) || N(0, 1)) per row, summed over the latent dimensions.

    Introduced in 01_gan_vae_recap.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


def check_kl(fn: Callable | None) -> bool:
    """Return True if ``fn(mu, logvar)`` gives the VAE's KL term per sample, shape (B,).

    Compared with ``torch.distributions.kl_divergence`` on seeded random inputs.
    Introduced in 01_gan_vae_recap.
    """
    if fn is None:
        print(_TODO)
        return False
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=generator)
    logvar = torch.randn(6, 4, generator=generator)
    kl, error = _call(fn, mu, logvar)
    if error:
        return _fail(error)
    error = _tensor(kl, (6,), "KL")
    if error:
        return _fail(error + " 잠재 차원(dim=1)으로 더해서 샘플마다 하나의 값을 돌려주세요.")
    normal = torch.distributions.Normal
    expected = torch.distributions.kl_divergence(
        normal(mu, (0.5 * logvar).exp()), normal(torch.zeros_like(mu), torch.ones_like(mu))
    ).sum(1)
    if not torch.allclose(kl.detach().float(), expected, atol=1e-4):
        return _fail(
            f"첫 샘플의 KL이 {expected[0]:.4f}이어야 하는데 {float(kl[0]):.4f}입니다. "
            "0.5 * (mu² + σ² - log σ² - 1)을 잠재 차원으로 더합니다."
        )
    return _pass("KL이 0이 되려면 mu=0, σ=1, 곧 사전분포(prior)와 같아야 합니다.")


def check_q_sample(fn: Callable | None) -> bool:
    """Return True if ``fn(x0, t, noise, alphas_cumprod)`` is the closed form of q(x_t | x_0).

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, with a batch of different t, compared
    with ``DDPMScheduler.add_noise``. Introduced in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    if fn is None:
        print(_TODO)
        return False
    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([0, 10, 500, 999])
    xt, error = _call(fn, x0, t, noise, scheduler.alphas_cumprod)
    if error:
        return _fail(error)
    error = _tensor(xt, (4, 3, 8, 8), "x_t")
    if error:
        return _fail(error)
    expected = scheduler.add_noise(x0, noise, t)
    wrong = [int(i) for i in t[(xt.detach().float() - expected).flatten(1).abs().amax(1) > 1e-4]]
    if wrong:
        return _fail(
            f"t = {wrong}에서 값이 다릅니다. 계수는 alphas_cumprod의 제곱근(sqrt)이고, "
            "t마다 다른 값을 (B, 1, 1, 1) 모양으로 바꿔 곱합니다."
        )
    return _pass("한 번의 곱셈과 덧셈으로 어느 t로든 바로 갈 수 있습니다.")


def snr_crossing(alphas_cumprod: torch.Tensor, level: float = 1.0) -> int:
    """Return the first timestep whose signal-to-noise ratio abar / (1 - abar) is below ``level``.

    Introduced in 02_forward_diffusion.
    """
    snr = alphas_cumprod / (1 - alphas_cumprod)
    below = torch.nonzero(snr < level)
    if len(below) == 0:
        raise ValueError(f"the SNR never falls below {level}")
    return int(below[0])


def check_snr_crossing(answer: int | None, schedule: str = "linear") -> bool:
    """Return True if ``answer`` is the first t where SNR < 1 for ``schedule`` (1000 steps).

    Introduced in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    if answer is None:
        print(_TODO)
        return False
    kwargs = {"beta_schedule": schedule}
    if schedule == "scaled_linear":
        kwargs.update(beta_start=0.00085, beta_end=0.012)
    expected = snr_crossing(DDPMScheduler(num_train_timesteps=1000, **kwargs).alphas_cumprod)
    if not isinstance(answer, int) or isinstance(answer, bool):
        return _fail(f"정수(int) 하나를 답하세요 (받은 것: {answer!r}).")
    if answer == expected - 1:
        return _fail(f"t = {answer}에서는 SNR이 아직 1 이상입니다. 1보다 *작아지는* 첫 t입니다.")
    if answer != expected:
        return _fail(f"{schedule} 일정에서 t = {answer}의 SNR은 1을 처음 넘지 않는 곳이 아닙니다.")
    return _pass(f"{schedule} 일정에서는 t = {expected}부터 잡음이 신호보다 셉니다.")


def _toy_model(x: torch.Tensor, t: torch.Tensor, **_: object) -> SimpleNamespace:
    """A fixed stand-in for a UNet: returns an object with ``.sample`` like diffusers models."""
    return SimpleNamespace(sample=0.5 * x + t.float().view(-1, 1, 1, 1) / 1000)


def check_ddpm_loss(fn: Callable | None) -> bool:
    """Return True if ``fn(model, x0, noise, t, scheduler)`` is the DDPM training loss.

    The loss: noise x0 to x_t with the scheduler, let the model predict the noise from
    (x_t, t), return the mean squared error to the true noise. Checked with a fixed toy
    model. Introduced in 03_reverse_diffusion.
    """
    from diffusers import DDPMScheduler

    if fn is None:
        print(_TODO)
        return False
    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([3, 250, 600, 990])
    loss, error = _call(fn, _toy_model, x0, noise, t, scheduler)
    if error:
        return _fail(error)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        return _fail("손실(loss)은 숫자 하나(스칼라 텐서)여야 합니다: .mean()을 잊지 않았나요?")
    noisy = scheduler.add_noise(x0, noise, t)
    expected = torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, noise)
    if abs(float(loss) - float(expected)) > 1e-5:
        hint = ""
        if abs(float(loss) - float(torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, x0))) < 1e-5:
            hint = " 목표(target)가 x0입니다. 이 노트북의 모델은 잡음(noise)을 맞힙니다."
        return _fail(f"손실이 {float(expected):.5f}이어야 하는데 {float(loss):.5f}입니다.{hint}")
    return _pass("DDPM 학습은 결국 '잡음 맞히기' 회귀(regression)입니다.")


def check_guidance(fn: Callable | None) -> bool:
    """Return True if ``fn(noise_uncond, noise_cond, scale)`` is classifier-free guidance.

    guided = uncond + scale * (cond - uncond), checked at scales 0, 1 and 4.
    Introduced in 03_reverse_diffusion.
    """
    if fn is None:
        print(_TODO)
        return False
    generator = torch.Generator().manual_seed(0)
    uncond = torch.randn(2, 3, 4, 4, generator=generator)
    cond = torch.randn(2, 3, 4, 4, generator=generator)
    for scale in (0.0, 1.0, 4.0):
        guided, error = _call(fn, uncond, cond, scale)
        if error:
            return _fail(error)
        error = _tensor(guided, (2, 3, 4, 4), "guided")
        if error:
            return _fail(error)
        expected = uncond + scale * (cond - uncond)
        if not torch.allclose(guided.float(), expected, atol=1e-5):
            return _fail(
                f"scale = {scale:g}에서 값이 다릅니다. scale = 0이면 조건 없는 예측, "
                "scale = 1이면 조건 있는 예측 그대로여야 합니다."
            )
    return _pass("scale > 1은 조건 쪽으로 '더 멀리' 밉니다.")


def check_predicted_x0(fn: Callable | None) -> bool:
    """Return True if ``fn(z_t, noise_pred, alpha_bar)`` is the predicted clean latent x0_hat.

    x0_hat = (z_t - sqrt(1 - alpha_bar) * noise_pred) / sqrt(alpha_bar), checked at three
    values of alpha_bar on fixed latents shaped like SD's (1, 4, 8, 8).
    Introduced in 04_inside_stable_diffusion.
    """
    if fn is None:
        print(_TODO)
        return False
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(1, 4, 8, 8, generator=generator)
    noise = torch.randn(1, 4, 8, 8, generator=generator)
    for value in (0.9, 0.3, 0.01):
        alpha_bar = torch.tensor(value)
        z_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        answer, error = _call(fn, z_t, noise, alpha_bar)
        if error:
            return _fail(error)
        error = _tensor(answer, (1, 4, 8, 8), "x0_hat")
        if error:
            return _fail(error)
        if not torch.allclose(answer.float(), x0, atol=1e-4):
            return _fail(
                f"alpha_bar = {value}에서 x0를 되찾지 못했습니다. 잡음 항을 빼고 sqrt(alpha_bar)로 "
                "나누었나요? (alpha_bar가 아니라 그 제곱근입니다.)"
            )
    return _pass("잡음 예측이 맞으면 어느 걸음에서든 최종 그림의 추측을 얻을 수 있습니다.")


def check_latent_shape(fn: Callable | None) -> bool:
    """Return True if ``fn(height, width, scale_factor, channels)`` is the latent shape (c, h, w).

    Checked on SD 1.5 sizes (512x512, 768x512 portrait), SD's 4 channels and other factors.
    Introduced in 04_inside_stable_diffusion.
    """
    if fn is None:
        print(_TODO)
        return False
    cases = [((512, 512, 8, 4), (4, 64, 64)), ((768, 512, 8, 4), (4, 96, 64)),
             ((64, 64, 8, 4), (4, 8, 8)), ((32, 48, 4, 16), (16, 8, 12))]
    for args, expected in cases:
        answer, error = _call(fn, *args)
        if error:
            return _fail(error)
        if not isinstance(answer, (tuple, list)) or tuple(answer) != expected:
            h, w, f, c = args
            return _fail(f"height={h}, width={w}, scale_factor={f}, channels={c}이면 {expected}인데 "
                         f"{answer!r}을(를) 돌려주었습니다. 순서는 (채널, 높이, 너비)입니다.")
    return _pass("512×512 그림은 4×64×64 잠재 표현: 숫자가 48배 적습니다.")


def check_generators(fn: Callable | None) -> bool:
    """Return True if ``fn(seed, n)`` returns n CPU generators seeded seed, seed + 1, ...

    Checked by the random numbers each generator draws, against a reference list.
    Introduced in 05_running_stable_diffusion.
    """
    if fn is None:
        print(_TODO)
        return False
    for seed, n in ((42, 3), (0, 1)):
        generators, error = _call(fn, seed, n)
        if error:
            return _fail(error)
        if not isinstance(generators, (list, tuple)) or len(generators) != n:
            return _fail(f"생성기 {n}개의 리스트여야 합니다 (받은 것: {generators!r}).")
        for i, generator in enumerate(generators):
            if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
                return _fail(f"{i}번째가 CPU의 torch.Generator가 아닙니다.")
            drawn = torch.randn(4, generator=generator)
            expected = torch.randn(4, generator=torch.Generator("cpu").manual_seed(seed + i))
            if not torch.equal(drawn, expected):
                return _fail(f"{i}번째 생성기의 시드가 seed + {i} = {seed + i}이 아닙니다.")
    return _pass("그림 i는 시드 seed + i: 배치를 바꿔도 같은 그림이 나옵니다.")


def check_img2img_steps(fn: Callable | None) -> bool:
    """Return True if ``fn(steps, strength)`` is the number of steps img2img really runs.

    diffusers: min(int(steps * strength), steps); checked on strengths 0 to 1 and beyond.
    Introduced in 05_running_stable_diffusion.
    """
    if fn is None:
        print(_TODO)
        return False
    for steps, strength in ((20, 0.4), (20, 0.55), (30, 1.0), (10, 0.0), (25, 0.3), (20, 1.5)):
        answer, error = _call(fn, steps, strength)
        if error:
            return _fail(error)
        expected = min(int(steps * strength), steps)
        if answer != expected:
            return _fail(f"steps={steps}, strength={strength}이면 {expected}걸음인데 {answer!r}입니다. "
                         "내림(int)과 steps를 넘지 않는 것을 확인하세요.")
    return _pass("강도가 낮을수록 걸음이 줄어 img2img는 더 빠릅니다.")


def check_full_prompt(fn: Callable | None) -> bool:
    """Return True if ``fn(shape, size, color, position, background)`` is the Shapes full caption.

    Compared word for word with ``shapes.caption`` on every shape and a few other attributes.
    Introduced in 06_prompt_engineering.
    """
    from helpers.shapes import Shape, caption, parse_caption

    if fn is None:
        print(_TODO)
        return False
    items = [Shape("circle", "large", "red", "center", "blue"), Shape("triangle", "small", "yellow", "left", "black"),
             Shape("square", "large", "white", "bottom", "purple")]
    for item in items:
        answer, error = _call(fn, item.shape, item.size, item.color, item.position, item.background)
        if error:
            return _fail(error)
        if answer != caption(item):
            hint = ""
            if isinstance(answer, str):
                try:
                    if parse_caption(answer) == item.as_dict():
                        hint = " 뜻은 맞지만 띄어쓰기나 글자가 문법과 조금 다릅니다."
                except ValueError:
                    hint = " 단어 순서가 문법과 다릅니다: size, color, shape, position, background."
            return _fail(f"{caption(item)!r}이어야 하는데 {answer!r}입니다.{hint}")
    return _pass("다 말한 캡션은 판독기가 다섯 속성을 모두 잴 수 있습니다.")


def check_mix_embeddings(fn: Callable | None) -> bool:
    """Return True if ``fn(emb_a, emb_b, weight)`` is (1 - weight) * emb_a + weight * emb_b.

    Checked at weights 0, 0.3 and 1 on embeddings shaped like SD's (1, 77, 768).
    Introduced in 06_prompt_engineering.
    """
    if fn is None:
        print(_TODO)
        return False
    generator = torch.Generator().manual_seed(0)
    emb_a = torch.randn(1, 77, 768, generator=generator)
    emb_b = torch.randn(1, 77, 768, generator=generator)
    for weight in (0.0, 0.3, 1.0):
        mixed, error = _call(fn, emb_a, emb_b, weight)
        if error:
            return _fail(error)
        error = _tensor(mixed, (1, 77, 768), "섞은 임베딩")
        if error:
            return _fail(error)
        if not torch.allclose(mixed, (1 - weight) * emb_a + weight * emb_b, atol=1e-5):
            return _fail(f"weight = {weight}에서 값이 다릅니다. weight = 0이면 A, 1이면 B 그대로여야 합니다.")
    return _pass("섞는 비율로 두 프롬프트 사이를 부드럽게 오갈 수 있습니다.")


def check_iou(fn: Callable | None) -> bool:
    """Return True if ``fn(a, b)`` is the intersection over union of two boolean masks.

    Checked on overlapping, disjoint, identical and empty 64x64 masks (both empty: 1.0).
    Introduced in 08_controlnet.
    """
    import numpy as np

    if fn is None:
        print(_TODO)
        return False
    a = np.zeros((64, 64), dtype=bool)
    b = np.zeros((64, 64), dtype=bool)
    a[10:30, 10:30] = True  # 400 pixels
    b[20:40, 20:40] = True  # 400 pixels, 100 shared: IoU 100 / 700
    far = np.zeros((64, 64), dtype=bool)
    far[50:60, 50:60] = True
    empty = np.zeros((64, 64), dtype=bool)
    cases = [((a, b), 100 / 700, "겹치는 두 네모"), ((a, far), 0.0, "떨어진 두 네모"),
             ((a, a), 1.0, "같은 마스크"), ((empty, empty), 1.0, "둘 다 빈 마스크")]
    for (x, y), expected, name in cases:
        answer, error = _call(fn, x, y)
        if error:
            return _fail(error)
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return _fail(f"숫자 하나를 돌려주어야 합니다 (받은 것: {type(answer).__name__}).")
        if not np.isfinite(value) or abs(value - expected) > 1e-6:
            hint = " 둘 다 비었으면 합집합이 0이니 따로 1.0을 돌려주세요." if name == "둘 다 빈 마스크" else ""
            return _fail(f"{name}: {expected:.4f}이어야 하는데 {value:.4f}입니다.{hint}")
    return _pass("IoU는 자세 충실도(pose adherence)를 재는 자입니다.")


def check_hands_up(pose) -> bool:
    """Return True if ``pose`` (a helpers.figures.Pose) has both wrists above the nose.

    Introduced in 08_controlnet.
    """
    from helpers.figures import Pose, inside_canvas, keypoints

    if pose is None:
        print(_TODO)
        return False
    if not isinstance(pose, Pose):
        return _fail(f"Pose가 필요합니다 (받은 것: {type(pose).__name__}); edit_pose(...)의 결과를 넣으세요.")
    points = keypoints(pose)
    if not inside_canvas(points):
        return _fail("손이나 발이 그림 밖으로 나갑니다: 목의 자리나 각도를 조금 줄이세요.")
    nose_y = points[0, 1]
    low = [name for name, i in (("오른쪽", 4), ("왼쪽", 7)) if points[i, 1] >= nose_y]
    if low:
        return _fail(f"{', '.join(low)} 손목이 코보다 아래에 있습니다 (y는 아래로 커집니다). "
                     "upper_arm 각도를 150도 넘게 올려 보세요.")
    return _pass("두 손이 머리 위에 있습니다.")
