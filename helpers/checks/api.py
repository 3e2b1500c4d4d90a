"""The one checker API: a checker takes a student's answer and says clearly whether it is right.

The checkers themselves live one module per notebook (``helpers.checks.gan_vae_recap`` for
01, ... ``helpers.checks.responsible_generation`` for 10) and are all re-exported by
``helpers.checks``, which is how notebooks call them: ``helpers.checks.check_kl(kl_term)``.

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
``with_particle`` (``helpers.checks.korean_particles``) so that a number or an English word
gets the right one ("42가", "all은"); ``brief(value)`` names a student's value in a hint::

    from helpers.checks.api import as_number, call, checker, expect
    from helpers.checks.korean_particles import with_particle

    @checker
    def check_double(fn):
        '''Return a true Verdict if ``fn(x)`` is 2 * x. Used in NN_notebook.'''
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
from typing import Any

import numpy as np
import torch

from helpers.checks.korean_particles import with_particle
from helpers.core.notebook import in_notebook

_TODO = "아직 답이 없습니다: 위의 빈칸(`raise NotImplementedError` 또는 None 자리)을 채워 보세요."

#: Seconds one call of a student's function may take before it is stopped (see ``call``).
TIME_LIMIT_S = 5.0

#: (prefix, box colour) of each verdict.
_STYLES = {
    "correct": ("✅ 정답 (correct)!", "#e6f4ea", "#1e8e3e"),
    "wrong": ("💡 아직 아닙니다 (not yet):", "#fef7e0", "#b06000"),
    "todo": ("✏️", "#e8f0fe", "#1a73e8"),
}


class Hint(Exception):
    """A wrong answer; the message is the friendly hint shown to the student.

    Used by helpers.checks.{api, controlnet, editing_and_personalization, failure_cases,
    flow_matching, forward_diffusion, prompt_engineering, responsible_generation, reverse_diffusion}
    (no notebook calls it).
    """


class NotDone(Exception):
    """The exercise is not done yet (``None`` or ``NotImplementedError``).

    Used by helpers.checks.api (no notebook calls it).
    """


class Verdict:
    """A checker's verdict: true when the answer is right; it displays as nothing in a notebook.

    The coloured box is shown when the checker runs. A notebook cell that ends with the
    checker's call would also print the returned value under the box; IPython asks
    ``_ipython_display_`` first, and this one shows nothing, so no bare ``False`` appears.
    ``bool(verdict)``, ``verdict.kind`` ("correct", "wrong" or "todo") and ``verdict.message``
    are there for ``assert`` and for tests.
    Used by helpers.checks.{api, grading} (no notebook calls it).
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


def _show(kind: str, text: str) -> Verdict:
    """Show one verdict: a coloured box in a notebook, a plain line elsewhere."""
    prefix, background, colour = _STYLES[kind]
    line = f"{prefix} {text}".strip()
    if not in_notebook():
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
    Used by helpers.checks.api (no notebook calls it).
    """
    return _show("correct", message)


def wrong(hint: str) -> Verdict:
    """Return a false Verdict after showing "💡 아직 아닙니다 (not yet):" and a friendly ``hint``.

    Used by helpers.checks.{api, grading} (no notebook calls it).
    """
    return _show("wrong", hint)


def todo() -> Verdict:
    """Return a false Verdict after saying the exercise is not done yet and where to fill it in.

    Used by helpers.checks.api (no notebook calls it).
    """
    return _show("todo", _TODO)


def expect(condition: Any, hint: str) -> None:
    """Return None if ``condition`` holds; otherwise raise ``Hint(hint)`` (the checker fails).

    Used by helpers.checks.{api, controlnet, editing_and_personalization, failure_cases,
    flow_matching, forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    responsible_generation, reverse_diffusion, running_stable_diffusion, setup_check} (no notebook
    calls it).
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
    Used by helpers.checks.{controlnet, editing_and_personalization, failure_cases, flow_matching,
    forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    responsible_generation, reverse_diffusion, running_stable_diffusion, setup_check} (no notebook
    calls it).
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


def brief(value: Any, limit: int = 80) -> str:
    """Return a short repr of a student's value for a hint: a big tensor or array by its shape.

    At most ``limit`` characters; longer text ends in "…".
    Used by helpers.checks.{api, editing_and_personalization, failure_cases,
    inside_stable_diffusion, prompt_engineering, responsible_generation, running_stable_diffusion}
    (no notebook calls it).
    """
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
    not_a_number = Hint(f"{subject} 숫자 하나여야 하는데 {type(value).__name__} {brief(value)}입니다.")
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
    Used by helpers.checks.{controlnet, failure_cases, flow_matching, forward_diffusion,
    gan_vae_recap, prompt_engineering, responsible_generation, running_stable_diffusion,
    setup_check} (no notebook calls it).
    """
    return float(_scalar(value, what))


def as_integer(value: Any, what: str = "답") -> int:
    """Return ``value`` as an int, or raise a Hint saying why it is not one whole number.

    Accepts everything ``as_number`` does whose value is whole (259, np.int64(259),
    torch.tensor(259), 259.0).
    Used by helpers.checks.{editing_and_personalization, forward_diffusion, inside_stable_diffusion,
    responsible_generation, reverse_diffusion} (no notebook calls it).
    """
    number = _scalar(value, what)
    if isinstance(number, float) and not number.is_integer():
        raise Hint(f"{with_particle(what, '은/는')} 정수(int)여야 하는데 {number:g}입니다.")
    return int(number)


def expect_tensor(value: Any, shape: tuple[int, ...], what: str, hint: str = "") -> None:
    """Return None if ``value`` is a torch.Tensor of ``shape``; otherwise raise a Hint.

    ``hint`` is added to the message about a wrong shape.
    Used by helpers.checks.{controlnet, editing_and_personalization, flow_matching,
    forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    reverse_diffusion, running_stable_diffusion, setup_check} (no notebook calls it).
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
    Used by helpers.checks.{controlnet, editing_and_personalization, flow_matching,
    forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    reverse_diffusion, running_stable_diffusion, setup_check} (no notebook calls it).
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
    Used by helpers.checks.{controlnet, editing_and_personalization, failure_cases, flow_matching,
    forward_diffusion, gan_vae_recap, inside_stable_diffusion, prompt_engineering,
    responsible_generation, reverse_diffusion, running_stable_diffusion, setup_check} (no notebook
    calls it).
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
