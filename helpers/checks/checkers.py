"""Exercise checkers: each takes a student's answer and says clearly whether it is right.

A checker compares the answer with a reference on fixed, seeded inputs, so a wrong answer
fails every time and a right one passes every time. Every checker answers in one of three
ways, through the same three functions, and returns a ``Verdict`` (true when right):

- ``correct(message)``: "✅ 정답 (correct)!" and why it matters.
- ``wrong(hint)``: "💡 아직 아닙니다 (not yet):" and a friendly hint.
- ``todo()``: the exercise is not done yet (the answer is ``None`` or raises
  ``NotImplementedError``).

To write a checker, decorate a function with ``@checker``: it receives the student's answer
(never ``None``; that is answered with ``todo()`` for you), calls student code through
``call(fn, ...)`` (a crash or a loop that never ends becomes a hint, ``NotImplementedError``
becomes ``todo()``), reads numbers with ``as_number`` / ``as_integer`` (any numeric type a
student may return), states what must hold with ``expect(condition, hint)``,
``expect_tensor(value, shape, what)`` and ``close(tensor, expected)`` (any float dtype), and
returns the praise for a right answer. Values put before a Korean particle go through
``with_particle`` so that a number or an English word gets the right one ("42가", "all은")::

    @checker
    def check_double(fn):
        '''Return a true Verdict if ``fn(x)`` is 2 * x. Introduced in NN_notebook.'''
        for x in (0, 3, -2):
            got = as_number(call(fn, x))
            expect(got == 2 * x, f"x = {with_particle(x, '이면/면')} "
                                 f"{with_particle(2 * x, '이어야/여야')} 하는데 {got:g}입니다.")
        return "두 배가 맞습니다."

In a notebook the verdict is shown as a coloured box (text everywhere else); the returned
``Verdict`` itself shows nothing, so a cell ending in a checker call prints no bare
``True``/``False`` under the box, while ``assert check_double(fn)`` still works.
"""

from __future__ import annotations

import ctypes
import functools
import html
import math
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from helpers.checks.korean_particles import with_particle

_TODO = "아직 답이 없습니다: 위의 빈칸(... 또는 None)을 채워 보세요."

#: Seconds one call of a student's function may take before it is stopped (see ``call``).
TIME_LIMIT_S = 5.0

#: (prefix, box colour) of each verdict.
_STYLES = {
    "correct": ("✅ 정답 (correct)!", "#e6f4ea", "#1e8e3e"),
    "wrong": ("💡 아직 아닙니다 (not yet):", "#fef7e0", "#b06000"),
    "todo": ("✏️", "#e8f0fe", "#1a73e8"),
}


class Hint(Exception):
    """A wrong answer; the message is the friendly hint shown to the student."""


class NotDone(Exception):
    """The exercise is not done yet (``None`` or ``NotImplementedError``)."""


class Verdict:
    """A checker's verdict: true when the answer is right; it displays as nothing in a notebook.

    The coloured box is shown when the checker runs. A notebook cell that ends with the
    checker's call would also print the returned value under the box; IPython asks
    ``_ipython_display_`` first, and this one shows nothing, so no bare ``False`` appears.
    ``bool(verdict)``, ``verdict.kind`` ("correct", "wrong" or "todo") and ``verdict.message``
    are there for ``assert`` and for tests.
    """

    __slots__ = ("kind", "message")

    def __init__(self, kind: str, message: str) -> None:
        self.kind, self.message = kind, message

    def __bool__(self) -> bool:
        return self.kind == "correct"

    def __repr__(self) -> str:
        return f"Verdict({self.kind!r}, {self.message!r})"

    def _ipython_display_(self) -> None:
        """Show nothing: the verdict's box is already on screen."""


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show(kind: str, text: str) -> Verdict:
    """Show one verdict: a coloured box in a notebook, a plain line elsewhere."""
    prefix, background, colour = _STYLES[kind]
    line = f"{prefix} {text}".strip()
    if not _in_notebook():
        print(line)
        return Verdict(kind, text)
    from IPython.display import display

    from helpers.core.presenter import presenting

    size = "1.6em" if presenting() else "1.1em"
    box = (f'<div class="workbook-check workbook-check-{kind}" style="background:{background};'
           f"border-left:6px solid {colour};padding:8px 12px;margin:4px 0;font-size:{size};"
           f'color:#202124">{html.escape(line)}</div>')
    display({"text/plain": line, "text/html": box}, raw=True)
    return Verdict(kind, text)


def correct(message: str = "") -> Verdict:
    """Return a true Verdict after showing a clear "✅ 정답 (correct)!" with ``message``.

    ``message`` says why the answer matters.
    Introduced in 01_gan_vae_recap.
    """
    return _show("correct", message)


def wrong(hint: str) -> Verdict:
    """Return a false Verdict after showing "💡 아직 아닙니다 (not yet):" and a friendly ``hint``.

    Introduced in 01_gan_vae_recap.
    """
    return _show("wrong", hint)


def todo() -> Verdict:
    """Return a false Verdict after saying the exercise is not done yet and where to fill it in.

    Introduced in 01_gan_vae_recap.
    """
    return _show("todo", _TODO)


def expect(condition: Any, hint: str) -> None:
    """Return None if ``condition`` holds; otherwise raise ``Hint(hint)`` (the checker fails).

    Introduced in 01_gan_vae_recap.
    """
    if not condition:
        raise Hint(hint)


class _TimeUp(BaseException):
    """Raised inside a student's function that ran past the time limit.

    A BaseException, so that a student's ``except Exception`` does not swallow it.
    """


def _raise_in_thread(thread_id: int, exception: type[BaseException] | None) -> None:
    """Ask CPython to raise ``exception`` in thread ``thread_id`` (None withdraws the request)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               None if exception is None else ctypes.py_object(exception))


def _run_with_time_limit(fn: Callable, args: tuple, kwargs: dict, seconds: float) -> Any:
    """Return ``fn(*args, **kwargs)``, or raise ``_TimeUp`` in it after ``seconds``.

    The function runs in the caller's own thread, so everything thread-local (torch's grad
    mode, the current device) is as the student left it. A watchdog thread waits
    ``seconds`` and then raises ``_TimeUp`` inside the caller's thread through CPython's
    ``PyThreadState_SetAsyncExc``. Why this and not the two usual ways:

    - ``signal.setitimer`` works only in the main thread and not on Windows.
    - Running the function in a daemon thread and ``join(timeout)`` returns control but
      cannot stop it: an endless loop would go on using a CPU core until the kernel is
      restarted, and it would run with another thread's grad mode.

    This way works in a Jupyter kernel on Linux, macOS, Windows and Colab, from any thread,
    and really stops the loop. Its limit: the exception lands between Python bytecodes, so a
    single long call into C (a ``time.sleep(600)``, one huge matrix product) is stopped only
    when that call returns; a loop of them is stopped at the next turn.
    """
    caller = threading.get_ident()
    lock = threading.Lock()
    state = {"done": False, "fired": False}

    def stop() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in_thread(caller, _TimeUp)

    watchdog = threading.Timer(seconds, stop)
    watchdog.daemon = True
    watchdog.start()
    try:
        return fn(*args, **kwargs)
    finally:
        with lock:
            state["done"] = True
            if state["fired"]:
                _raise_in_thread(caller, None)  # not delivered yet: withdraw it
        watchdog.cancel()


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Return ``fn(*args, **kwargs)``, the student's code run safely inside a checker.

    ``NotImplementedError`` means "not done yet"; any other exception becomes a hint naming
    it, so a student's bug never crashes the notebook; a call that runs longer than
    ``TIME_LIMIT_S`` seconds is stopped and reported as a loop that never ends (how: see
    ``_run_with_time_limit``).
    Introduced in 01_gan_vae_recap.
    """
    if not callable(fn):
        raise Hint(f"함수를 넣어야 합니다 (받은 것: {type(fn).__name__}). "
                   "def로 만든 함수의 이름을 괄호 없이 넣으세요.")
    try:
        return _run_with_time_limit(fn, args, kwargs, TIME_LIMIT_S)
    except _TimeUp:
        raise Hint(f"함수가 {TIME_LIMIT_S:g}초 안에 끝나지 않았습니다: 끝나지 않는 반복문(loop)이나 "
                   "너무 오래 걸리는 계산이 있는지 살펴보세요. while의 조건이 언젠가 거짓이 되는지, "
                   "반복할 때마다 조건에 쓰인 변수가 바뀌는지 확인하세요.") from None
    except NotImplementedError:
        raise NotDone from None
    except Exception as error:  # a student's bug: report it, do not crash the notebook
        raise Hint(f"함수가 오류를 냈습니다: {type(error).__name__}: {error}") from None


def _brief(value: Any, limit: int = 80) -> str:
    """Return a short repr of a student's value for a hint: a big tensor or array by its shape."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and math.prod(value.shape) > 8:
        return f"모양(shape)이 {tuple(value.shape)}인 {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scalar(value: Any, what: str) -> int | float:
    """Return ``value`` as one Python int or float, or raise a Hint saying why it is not one."""
    subject = with_particle(what, "이/가")
    if value is None:
        raise Hint(f"{subject} None입니다: 함수 끝에서 return으로 값을 돌려주었나요?")
    if isinstance(value, (torch.Tensor, np.ndarray)):
        size = value.numel() if isinstance(value, torch.Tensor) else value.size
        if size != 1:
            raise Hint(f"{subject} 숫자 하나여야 하는데 모양(shape)이 {tuple(value.shape)}인 "
                       f"{type(value).__name__}입니다.")
        value = value.item()
    elif isinstance(value, np.generic):
        value = value.item()
    not_a_number = Hint(f"{subject} 숫자 하나여야 하는데 {type(value).__name__} {_brief(value)}입니다.")
    if isinstance(value, (bool, str, bytes, complex)):
        raise not_a_number
    if not isinstance(value, (int, float)):
        try:
            value = float(value)  # e.g. fractions.Fraction, decimal.Decimal
        except (TypeError, ValueError):
            raise not_a_number from None
    if math.isnan(value):
        raise Hint(f"{subject} NaN(숫자가 아님)입니다: 0을 0으로 나누지 않았는지 확인하세요.")
    if math.isinf(value):
        raise Hint(f"{subject} 무한대(inf)입니다: 0으로 나누지 않았는지 확인하세요.")
    return value


def as_number(value: Any, what: str = "답") -> float:
    """Return ``value`` as a finite float, or raise a Hint saying why it is not one number.

    Accepts a Python int or float, a numpy scalar (np.int64, np.float32, ...), a 0-d or
    one-element numpy array or torch tensor (any dtype, any device). ``None``, text, bools,
    several numbers, NaN and inf get a hint with the reason; ``what`` names the value in it.
    Introduced in 01_gan_vae_recap.
    """
    return float(_scalar(value, what))


def as_integer(value: Any, what: str = "답") -> int:
    """Return ``value`` as an int, or raise a Hint saying why it is not one whole number.

    Accepts everything ``as_number`` does whose value is whole (259, np.int64(259),
    torch.tensor(259), 259.0).
    Introduced in 02_forward_diffusion.
    """
    number = _scalar(value, what)
    if isinstance(number, float) and not number.is_integer():
        raise Hint(f"{with_particle(what, '은/는')} 정수(int)여야 하는데 {number:g}입니다.")
    return int(number)


def expect_tensor(value: Any, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    """Return None if ``value`` is a torch.Tensor of ``shape``; otherwise raise a Hint.

    ``hint`` is added to the message about a wrong shape.
    Introduced in 01_gan_vae_recap.
    """
    expect(isinstance(value, torch.Tensor),
           f"{with_particle(what, '은/는')} torch.Tensor여야 합니다 (받은 것: {type(value).__name__}).")
    expect(tuple(value.shape) == shape,
           f"{what}의 모양(shape)이 {with_particle(shape, '이어야/여야')} 하는데 "
           f"{tuple(value.shape)}입니다.{hint}")


def close(value: torch.Tensor, expected: torch.Tensor, atol: float = 1e-5) -> bool:
    """Return True if tensor ``value`` equals ``expected`` within ``atol``, in any dtype and device.

    Compared in float64 on the CPU, so a float64, float16 or bfloat16 answer never crashes
    the comparison. A half-precision answer is right within what its precision allows: its
    rounding, 4 machine epsilons of the largest expected value, is added to ``atol``.
    Introduced in 01_gan_vae_recap.
    """
    value = value.detach().cpu()
    expected = expected.detach().cpu().double()
    if value.is_floating_point() and torch.finfo(value.dtype).eps > torch.finfo(torch.float32).eps:
        atol += 4 * torch.finfo(value.dtype).eps * max(1.0, float(expected.abs().max()))
    return torch.allclose(value.double(), expected, atol=atol, rtol=1e-5)


def checker(func: Callable[..., str | Verdict | None]) -> Callable[..., Verdict]:
    """Return ``func`` wrapped as a checker: None → todo(), Hint → wrong(), praise → correct().

    ``func(answer, ...)`` returns the praise (a str, or None for a plain "correct"); a
    Verdict return is passed through for checkers that report for themselves. Any other
    error while checking (an answer of a type nobody foresaw) becomes a hint, not a crash.
    Introduced in 01_gan_vae_recap.
    """

    @functools.wraps(func)
    def run(answer: Any, *args: Any, **kwargs: Any) -> Verdict:
        if answer is None:
            return todo()
        try:
            praise = func(answer, *args, **kwargs)
        except NotDone:
            return todo()
        except Hint as hint:
            return wrong(str(hint))
        except Exception as error:  # an answer the checker did not foresee: say so, do not crash
            return wrong(f"답을 확인하다가 예상하지 못한 오류가 났습니다 ({type(error).__name__}: "
                         f"{error}). 돌려준 값의 종류(type)와 모양(shape)이 문제에서 말한 것과 "
                         "같은지 확인하고, 같다면 강사에게 알려 주세요.")
        if isinstance(praise, Verdict):
            return praise
        return correct(praise or "")

    return run


@checker
def check_reparameterize(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` is the reparameterisation trick z = mu + sigma * eps.

    Checks the shape, the mean and standard deviation over 20,000 draws, and that gradients
    flow to both ``mu`` and ``logvar`` (the point of the trick).
    Introduced in 01_gan_vae_recap.
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

    Introduced in 01_gan_vae_recap.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1)


@checker
def check_kl(fn: Callable) -> str:
    """Return a true Verdict if ``fn(mu, logvar)`` gives the VAE's KL term per sample, shape (B,).

    Compared with ``torch.distributions.kl_divergence`` on seeded random inputs.
    Introduced in 01_gan_vae_recap.
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


@checker
def check_q_sample(fn: Callable) -> str:
    """Return a true Verdict if ``fn(x0, t, noise, alphas_cumprod)`` is the closed form of q(x_t | x_0).

    x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise, with a batch of different t, compared
    with ``DDPMScheduler.add_noise``. Introduced in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([0, 10, 500, 999])
    xt = call(fn, x0, t, noise, scheduler.alphas_cumprod)
    expect_tensor(xt, (4, 3, 8, 8), "x_t")
    expected = scheduler.add_noise(x0, noise, t)
    wrong_t = [int(t[i]) for i in range(len(t)) if not close(xt[i], expected[i], atol=1e-4)]
    expect(not wrong_t, f"t = {wrong_t}에서 값이 다릅니다. 계수는 alphas_cumprod의 제곱근(sqrt)이고, "
                        "t마다 다른 값을 (B, 1, 1, 1) 모양으로 바꿔 곱합니다.")
    return "한 번의 곱셈과 덧셈으로 어느 t로든 바로 갈 수 있습니다."


def snr_crossing(alphas_cumprod: torch.Tensor, level: float = 1.0) -> int:
    """Return the first timestep whose signal-to-noise ratio abar / (1 - abar) is below ``level``.

    Introduced in 02_forward_diffusion.
    """
    snr = alphas_cumprod / (1 - alphas_cumprod)
    below = torch.nonzero(snr < level)
    if len(below) == 0:
        raise ValueError(f"the SNR never falls below {level}")
    return int(below[0])


@checker
def check_snr_crossing(answer: int, schedule: str = "linear") -> str:
    """Return a true Verdict if ``answer`` is the first t where SNR < 1 for ``schedule`` (1000 steps).

    Introduced in 02_forward_diffusion.
    """
    from diffusers import DDPMScheduler

    kwargs = {"beta_schedule": schedule}
    if schedule == "scaled_linear":
        kwargs.update(beta_start=0.00085, beta_end=0.012)
    expected = snr_crossing(DDPMScheduler(num_train_timesteps=1000, **kwargs).alphas_cumprod)
    t = as_integer(answer, "답")
    expect(t != expected - 1,
           f"t = {t}에서는 SNR이 아직 1 이상입니다. 1보다 *작아지는* 첫 t입니다.")
    expect(t == expected,
           f"{schedule} 일정에서 SNR이 처음으로 1보다 작아지는 t는 {with_particle(t, '이/가')} 아닙니다.")
    return f"{schedule} 일정에서는 t = {expected}부터 잡음이 신호보다 셉니다."


def _toy_model(x: torch.Tensor, t: torch.Tensor, **_: object) -> SimpleNamespace:
    """A fixed stand-in for a UNet: returns an object with ``.sample`` like diffusers models."""
    return SimpleNamespace(sample=0.5 * x + t.float().view(-1, 1, 1, 1) / 1000)


@checker
def check_ddpm_loss(fn: Callable) -> str:
    """Return a true Verdict if ``fn(model, x0, noise, t, scheduler)`` is the DDPM training loss.

    The loss: noise x0 to x_t with the scheduler, let the model predict the noise from
    (x_t, t), return the mean squared error to the true noise. Checked with a fixed toy
    model. Introduced in 03_reverse_diffusion.
    """
    from diffusers import DDPMScheduler

    scheduler = DDPMScheduler(num_train_timesteps=1000)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(4, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(4, 3, 8, 8, generator=generator)
    t = torch.tensor([3, 250, 600, 990])
    loss = call(fn, _toy_model, x0, noise, t, scheduler)
    expect(isinstance(loss, torch.Tensor) and loss.numel() == 1,
           "손실(loss)은 숫자 하나(스칼라 텐서)여야 합니다: .mean()을 잊지 않았나요?")
    noisy = scheduler.add_noise(x0, noise, t)
    expected = torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, noise)
    if not close(loss.reshape(()), expected):
        hint = ""
        if close(loss.reshape(()), torch.nn.functional.mse_loss(_toy_model(noisy, t).sample, x0)):
            hint = " 목표(target)가 x0입니다. 이 노트북의 모델은 잡음(noise)을 맞힙니다."
        raise Hint(f"손실이 {with_particle(f'{float(expected):.5f}', '이어야/여야')} 하는데 "
                   f"{float(loss):.5f}입니다.{hint}")
    return "DDPM 학습은 결국 '잡음 맞히기' 회귀(regression)입니다."


@checker
def check_guidance(fn: Callable) -> str:
    """Return a true Verdict if ``fn(noise_uncond, noise_cond, scale)`` is classifier-free guidance.

    guided = uncond + scale * (cond - uncond), checked at scales 0, 1 and 4.
    Introduced in 03_reverse_diffusion.
    """
    generator = torch.Generator().manual_seed(0)
    uncond = torch.randn(2, 3, 4, 4, generator=generator)
    cond = torch.randn(2, 3, 4, 4, generator=generator)
    for scale in (0.0, 1.0, 4.0):
        guided = call(fn, uncond, cond, scale)
        expect_tensor(guided, (2, 3, 4, 4), "guided")
        expect(close(guided, uncond + scale * (cond - uncond)),
               f"scale = {scale:g}에서 값이 다릅니다. scale = 0이면 조건 없는 예측, "
               "scale = 1이면 조건 있는 예측 그대로여야 합니다.")
    return "scale > 1은 조건 쪽으로 '더 멀리' 밉니다."


@checker
def check_predicted_x0(fn: Callable) -> str:
    """Return a true Verdict if ``fn(z_t, noise_pred, alpha_bar)`` is the predicted clean latent x0_hat.

    x0_hat = (z_t - sqrt(1 - alpha_bar) * noise_pred) / sqrt(alpha_bar), checked at three
    values of alpha_bar on fixed latents shaped like SD's (1, 4, 8, 8).
    Introduced in 04_inside_stable_diffusion.
    """
    generator = torch.Generator().manual_seed(0)
    x0 = torch.randn(1, 4, 8, 8, generator=generator)
    noise = torch.randn(1, 4, 8, 8, generator=generator)
    for value in (0.9, 0.3, 0.01):
        alpha_bar = torch.tensor(value)
        z_t = alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
        answer = call(fn, z_t, noise, alpha_bar)
        expect_tensor(answer, (1, 4, 8, 8), "x0_hat")
        expect(close(answer, x0, atol=1e-4),
               f"alpha_bar = {value}에서 x0를 되찾지 못했습니다. 잡음 항을 빼고 sqrt(alpha_bar)로 "
               "나누었나요? (alpha_bar가 아니라 그 제곱근입니다.)")
    return "잡음 예측이 맞으면 어느 걸음에서든 최종 그림의 추측을 얻을 수 있습니다."


@checker
def check_latent_shape(fn: Callable) -> str:
    """Return a true Verdict if ``fn(height, width, scale_factor, channels)`` is the latent shape (c, h, w).

    Checked on SD 1.5 sizes (512x512, 768x512 portrait), SD's 4 channels and other factors.
    Introduced in 04_inside_stable_diffusion.
    """
    cases = [((512, 512, 8, 4), (4, 64, 64)), ((768, 512, 8, 4), (4, 96, 64)),
             ((64, 64, 8, 4), (4, 8, 8)), ((32, 48, 4, 16), (16, 8, 12))]
    for (h, w, f, c), expected in cases:
        answer = call(fn, h, w, f, c)
        if isinstance(answer, (torch.Tensor, np.ndarray)) and answer.ndim == 1:
            answer = answer.tolist()
        expect(isinstance(answer, (tuple, list)) and tuple(answer) == expected,
               f"height={h}, width={w}, scale_factor={f}, {with_particle(f'channels={c}', '이면/면')} "
               f"{expected}인데 {with_particle(_brief(answer), '을/를')} 돌려주었습니다. "
               "순서는 (채널, 높이, 너비)입니다.")
    return "512×512 그림은 4×64×64 잠재 표현: 숫자가 48배 적습니다."


@checker
def check_generators(fn: Callable) -> str:
    """Return a true Verdict if ``fn(seed, n)`` returns n CPU generators seeded seed, seed + 1, ...

    Checked by the random numbers each generator draws, against a reference list.
    Introduced in 05_running_stable_diffusion.
    """
    for seed, n in ((42, 3), (0, 1)):
        generators = call(fn, seed, n)
        expect(isinstance(generators, (list, tuple)) and len(generators) == n,
               f"생성기 {n}개의 리스트여야 합니다 (받은 것: {_brief(generators)}).")
        for i, generator in enumerate(generators):
            expect(isinstance(generator, torch.Generator) and generator.device.type == "cpu",
                   f"{i}번째가 CPU의 torch.Generator가 아닙니다.")
            drawn = torch.randn(4, generator=generator)
            expected = torch.randn(4, generator=torch.Generator("cpu").manual_seed(seed + i))
            expect(torch.equal(drawn, expected),
                   f"{i}번째 생성기의 시드가 {with_particle(f'seed + {i} = {seed + i}', '이/가')} 아닙니다.")
    return ("그림 i는 시드 seed + i: 배치를 바꿔도 같은 잡음에서 시작하므로, 그림은 회색 한 단계"
            "(255단계 중 1) 이내로 같습니다.")


@checker
def check_img2img_steps(fn: Callable) -> str:
    """Return a true Verdict if ``fn(steps, strength)`` is the number of steps img2img really runs.

    diffusers: min(int(steps * strength), steps); checked on strengths 0 to 1 and beyond.
    Introduced in 05_running_stable_diffusion.
    """
    for steps, strength in ((20, 0.4), (20, 0.55), (30, 1.0), (10, 0.0), (25, 0.3), (20, 1.5)):
        answer = as_number(call(fn, steps, strength), "돌려준 걸음 수")
        expected = min(int(steps * strength), steps)
        expect(answer == expected,
               f"steps={steps}, {with_particle(f'strength={strength}', '이면/면')} {expected}걸음인데 "
               f"{answer:g}입니다. "
               "내림(int)과 steps를 넘지 않는 것을 확인하세요.")
    return "강도가 낮을수록 걸음이 줄어 img2img는 더 빠릅니다."


@checker
def check_full_prompt(fn: Callable) -> str:
    """Return a true Verdict if ``fn(shape, size, color, position, background)`` is the Shapes full caption.

    Compared word for word with ``shapes.caption`` on every shape and a few other attributes.
    Introduced in 06_prompt_engineering.
    """
    from helpers.shapes import Shape, caption, parse_caption

    items = [Shape("circle", "large", "red", "center", "blue"), Shape("triangle", "small", "yellow", "left", "black"),
             Shape("square", "large", "white", "bottom", "purple")]
    for item in items:
        answer = call(fn, item.shape, item.size, item.color, item.position, item.background)
        expect(isinstance(answer, str), f"문자열(str) 하나를 돌려주세요 (받은 것: {_brief(answer)}).")
        if answer != caption(item):
            hint = ""
            if isinstance(answer, str):
                try:
                    if parse_caption(answer) == item.as_dict():
                        hint = " 뜻은 맞지만 띄어쓰기나 글자가 문법과 조금 다릅니다."
                except ValueError:
                    hint = " 단어 순서가 문법과 다릅니다: size, color, shape, position, background."
            raise Hint(f"{with_particle(repr(caption(item)), '이어야/여야')} 하는데 {_brief(answer, 200)}입니다.{hint}")
    return "다 말한 캡션은 판독기가 다섯 속성을 모두 잴 수 있습니다."


@checker
def check_mix_embeddings(fn: Callable) -> str:
    """Return a true Verdict if ``fn(emb_a, emb_b, weight)`` is (1 - weight) * emb_a + weight * emb_b.

    Checked at weights 0, 0.3 and 1 on embeddings shaped like SD's (1, 77, 768).
    Introduced in 06_prompt_engineering.
    """
    generator = torch.Generator().manual_seed(0)
    emb_a = torch.randn(1, 77, 768, generator=generator)
    emb_b = torch.randn(1, 77, 768, generator=generator)
    for weight in (0.0, 0.3, 1.0):
        mixed = call(fn, emb_a, emb_b, weight)
        expect_tensor(mixed, (1, 77, 768), "섞은 임베딩")
        expect(close(mixed, (1 - weight) * emb_a + weight * emb_b),
               f"weight = {weight}에서 값이 다릅니다. weight = 0이면 A, 1이면 B 그대로여야 합니다.")
    return "섞는 비율로 두 프롬프트 사이를 부드럽게 오갈 수 있습니다."


@checker
def check_iou(fn: Callable) -> str:
    """Return a true Verdict if ``fn(a, b)`` is the intersection over union of two boolean masks.

    Checked on overlapping, disjoint, identical and empty 64x64 masks (both empty: 1.0).
    Introduced in 08_controlnet.
    """
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
        hint = " 둘 다 비었으면 합집합이 0이니 따로 1.0을 돌려주세요." if name == "둘 다 빈 마스크" else ""
        answer = call(fn, x.copy(), y.copy())
        try:
            value = as_number(answer, f"{name}의 IoU")
        except Hint as reason:
            raise Hint(f"{reason}{hint}") from None
        expect(abs(value - expected) <= 1e-6,
               f"{name}: {with_particle(f'{expected:.4f}', '이어야/여야')} 하는데 {value:.4f}입니다.{hint}")
    return "IoU는 자세 충실도(pose adherence)를 재는 자입니다."


@checker
def check_hands_up(pose: Any) -> str:
    """Return a true Verdict if ``pose`` (a helpers.shapes.people.Pose) has both wrists above the nose.

    Introduced in 08_controlnet.
    """
    from helpers.shapes.people import Pose, inside_canvas, keypoints

    expect(isinstance(pose, Pose),
           f"Pose가 필요합니다 (받은 것: {type(pose).__name__}): edit_pose(...)의 결과를 넣으세요.")
    points = keypoints(pose)
    expect(inside_canvas(points), "손이나 발이 그림 밖으로 나갑니다: 목의 자리나 각도를 조금 줄이세요.")
    nose_y = points[0, 1]
    low = [name for name, i in (("오른쪽", 4), ("왼쪽", 7)) if points[i, 1] >= nose_y]
    expect(not low, f"{', '.join(low)} 손목이 코보다 아래에 있습니다 (y는 아래로 커집니다). "
                    "upper_arm 각도를 150도 넘게 올려 보세요.")
    return "두 손이 머리 위에 있습니다."


@checker
def check_mass_share(fn: Callable) -> str:
    """Return a true Verdict if ``fn(heat, mask)`` is the share of a map's total mass inside a boolean mask.

    Checked on a random map, an even map (share = the mask's area), the same map scaled
    by 10 (the share must not change) and a mask covering everything (share 1).
    Introduced in 07_failure_cases.
    """
    heat = np.random.default_rng(0).random((8, 8))
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:5, 1:7] = True
    share = float(heat[mask].sum() / heat.sum())
    cases = [((heat, mask), share, "무작위 지도"), ((np.ones((8, 8)), mask), float(mask.mean()), "고른 지도"),
             ((heat * 10, mask), share, "10배 한 지도"), ((heat, np.ones((8, 8), dtype=bool)), 1.0, "전체 마스크")]
    for args, expected, name in cases:
        value = as_number(call(fn, *args), f"{name}에서 돌려준 값")
        expect(abs(value - expected) <= 1e-6,
               f"{name}: {with_particle(f'{expected:.4f}', '이어야/여야')} 하는데 {value:.4f}입니다. "
               "마스크 안의 합을 지도 전체의 합으로 나누세요.")
    return "고르게 퍼진 지도라면 마스크의 넓이 비율과 같고, 그보다 크면 그곳에 모인 것입니다."


@checker
def check_split_two(fn: Callable) -> str:
    """Return a true Verdict if ``fn(caption)`` splits a two-object caption into its two one-object captions.

    ``"a red circle at the left and a blue square at the right on a white background"`` gives
    ``("a small red circle at the left on a white background",
    "a small blue square at the right on a white background")``; checked on 20 seeded captions.
    Introduced in 07_failure_cases.
    """
    import random

    from helpers.shapes import caption, caption_two, random_two_shapes

    rng = random.Random(0)
    for _ in range(20):
        item = random_two_shapes(rng)
        text = caption_two(item)
        expected = tuple(caption(half) for half in item.halves())
        answer = call(fn, text)
        expect(isinstance(answer, (tuple, list)) and len(answer) == 2,
               f"캡션 두 개의 튜플 (왼쪽, 오른쪽)을 돌려주세요 (받은 것: {_brief(answer, 200)}).")
        got = tuple(" ".join(str(a).lower().split()) for a in answer)
        expect(got == expected, f"{text!r}에서 {with_particle(repr(expected), '이/가')} 나와야 하는데 {got!r}입니다. "
                                "두 물체는 모두 small이고, 자리(at the left / at the right)와 배경을 그대로 씁니다.")
    return "한 물체짜리 캡션 두 개는 모델이 학습에서 본 문장입니다."


@checker
def check_best_fix(answer: str, fixes: dict[str, dict[str, float]], key: str = "all") -> str:
    """Return a true Verdict if ``answer`` names the row of ``fixes`` with the highest ``key`` value.

    ``fixes`` is the notebook's measured table (row name -> {column: value}). Case and extra
    spaces do not matter; an answer that is not one row name gets a hint.
    Introduced in 07_failure_cases.
    """
    rows = {" ".join(str(name).split()).lower(): name for name in fixes}
    expect(isinstance(answer, str),
           f"표의 줄 이름 하나를 문자열로 답하세요. 예: answer = {next(iter(fixes))!r} "
           f"(받은 것: {type(answer).__name__} {_brief(answer)}).")
    row = rows.get(" ".join(answer.split()).lower())
    expect(row is not None, f"{with_particle(repr(answer), '은/는')} 표에 없는 줄입니다. "
                            f"다음 중에서 고르세요: {', '.join(map(str, fixes))}.")
    best = max(float(values[key]) for values in fixes.values())
    value = float(fixes[row][key])
    expect(value >= best, f"{row!r}의 {with_particle(key, '은/는')} {value:.2f}인데, "
                          f"더 높은 줄이 있습니다 ({best:.2f}).")
    return f"{row!r}: {key} {best:.2f}."


# 10_responsible_generation
@checker
def check_jpeg_edit(fn: Callable) -> str:
    """Return a true Verdict if ``fn(image, quality)`` saves ``image`` as a JPEG at ``quality`` and reads it back.

    Compared pixel for pixel with ``helpers.responsible.image_edits.jpeg`` at qualities 90 and 30 on a
    rendered Shapes picture. Introduced in 10_responsible_generation.
    """
    from PIL import Image

    from helpers.responsible.image_edits import jpeg
    from helpers.shapes import Shape, render

    picture = render(Shape("triangle", "large", "yellow", "left", "purple"))
    for quality in (90, 30):
        answer = call(fn, picture.copy(), quality)
        expect(isinstance(answer, Image.Image),
               f"PIL 그림을 돌려주어야 합니다 (받은 것: {type(answer).__name__}). "
               "Image.open(buffer)로 다시 읽으세요.")
        got = np.asarray(answer.convert("RGB"), dtype=int)
        expect(got.shape == (64, 64, 3), f"크기가 64×64여야 하는데 {answer.size}입니다.")
        expect(not np.array_equal(got, np.asarray(picture, dtype=int)),
               "그림이 하나도 바뀌지 않았습니다: format=\"JPEG\"로 저장했나요?")
        expected = np.asarray(jpeg(picture, quality), dtype=int)
        expect(np.array_equal(got, expected),
               f"quality={quality}에서 픽셀이 다릅니다 (평균 차이 {np.abs(got - expected).mean():.2f}). "
               "save(buffer, format=\"JPEG\", quality=quality)로 저장하고 buffer.seek(0) 뒤에 여세요.")
    return "채팅 앱과 SNS가 그림마다 하는 일이 바로 이것입니다."


@checker
def check_frechet_1d(fn: Callable) -> str:
    """Return a true Verdict if ``fn(m1, s1, m2, s2)`` is the Fréchet distance between N(m1, s1²) and N(m2, s2²).

    The 1-D case of ``helpers.responsible.frechet.frechet_distance``: (m1 - m2)² + (s1 - s2)², with s the
    standard deviations. Introduced in 10_responsible_generation.
    """
    from helpers.responsible.frechet import frechet_distance

    for m1, s1, m2, s2 in ((0.0, 1.0, 0.0, 1.0), (1.0, 2.0, 4.0, 2.0), (0.0, 1.0, 0.0, 3.0),
                           (2.0, 0.5, -1.0, 1.5)):
        value = as_number(call(fn, m1, s1, m2, s2), "돌려준 거리")
        expected = frechet_distance([m1], [[s1 * s1]], [m2], [[s2 * s2]])
        hint = ""
        if abs(value - ((m1 - m2) ** 2 + (s1 * s1 - s2 * s2) ** 2)) < 1e-9 and s1 != s2:
            hint = " 분산(s²)이 아니라 표준편차(s)의 차이를 제곱합니다."
        elif abs(value - expected ** 0.5) < 1e-9:
            hint = " FID가 보고하는 것은 거리의 제곱입니다: 제곱근을 씌우지 마세요."
        expect(abs(value - expected) < 1e-9,
               f"{with_particle(f'N({m1}, {s1}²)', '과/와')} {with_particle(f'N({m2}, {s2}²)', '이면/면')} "
               f"{expected:g}인데 {value:g}입니다.{hint}")
    return "평균의 차이와 퍼짐의 차이, 둘 다 거리에 들어갑니다."


@checker
def check_detection_threshold(fn: Callable) -> str:
    """Return a true Verdict if ``fn(n_bits, false_alarm)`` is the fewest matching bits for a watermark verdict.

    The smallest k with P(Binomial(n_bits, 1/2) >= k) <= false_alarm, compared with
    ``helpers.responsible.watermark.detection_threshold``. Introduced in 10_responsible_generation.
    """
    from helpers.responsible.watermark import detection_threshold

    for n_bits, false_alarm in ((48, 1e-6), (48, 0.01), (32, 1e-3), (10, 0.5), (136, 1e-9)):
        answer = as_integer(call(fn, n_bits, false_alarm), "돌려준 값")
        expected = detection_threshold(n_bits, false_alarm)
        hint = ""
        if answer == expected - 1:
            hint = " 하나 모자랍니다: 꼬리 확률 P(일치 ≥ k)가 false_alarm *이하*가 되는 가장 작은 k입니다."
        elif answer == expected + 1:
            hint = " 하나 많습니다: 그보다 하나 작은 k에서도 꼬리 확률이 이미 충분히 작습니다."
        expect(answer == expected,
               f"n_bits={n_bits}, {with_particle(f'false_alarm={false_alarm:g}', '이면/면')} "
               f"{expected}인데 {answer}입니다.{hint}")
    return "48비트 중 이만큼 맞으면, 표시 없는 그림이 우연히 통과할 확률은 거의 없습니다."


# 09_editing_and_personalization


@checker
def check_lora_numbers(fn: Callable) -> str:
    """Return a true Verdict if ``fn(d_in, d_out, rank)`` is the number of weights a LoRA adds to a linear layer.

    A LoRA of rank r on a d_in -> d_out layer adds A (r x d_in) and B (d_out x r), no bias:
    r * (d_in + d_out). Checked against ``peft`` on a real layer too.
    Introduced in 09_editing_and_personalization.
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


@checker
def check_instruct_guidance(fn: Callable) -> str:
    """Return a true Verdict if ``fn`` combines InstructPix2Pix's three noise predictions with its two scales.

    uncond + image_scale * (image_only - uncond) + text_scale * (full - image_only), on seeded
    random tensors. Introduced in 09_editing_and_personalization.
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
