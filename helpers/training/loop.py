"""The training core both bundled models' scripts share: resumable stages and the denoising loop.

``train_mini_sd`` (VAE, then text encoder + UNet) and ``train_controlnet`` (a ControlNet on the
frozen mini model) differ only in what they train and how a prediction is made. Everything
else is here, written once:

1. ``start_run``: torch threads, an ``accelerate`` Accelerator, the seed, the work folder.
2. ``Stage``: a stage's checkpoints under ``work/<name>`` (resume, save, finish, wall time).
3. ``adamw_with_warmup`` and ``Updates``: AdamW with linear warm-up and cosine decay to 10%,
   gradient clipping, the EMA copies.
4. ``run_steps``: the progress bar and a checkpoint every ``save_every`` steps.
5. ``train_denoiser``: a batch of captions and latents, noise at a random step t, the
   prediction, the min-SNR-weighted epsilon loss, an update and the smoothed loss.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch


def start_run(seed: int, threads: int, work: Path):
    """Return an ``accelerate.Accelerator`` after setting torch's threads (0: torch's), the seed and ``work``.

    Used by helpers.training.{train_controlnet, train_mini_sd, train_mini_sd3} (no notebook calls
    it).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    if threads:
        torch.set_num_threads(threads)
    accelerator = Accelerator()
    set_seed(seed)
    work.mkdir(parents=True, exist_ok=True)
    return accelerator


class Stage:
    """Resumable bookkeeping for one training stage under ``work/name``.

    Used by helpers.training.{loop, train_controlnet, train_mini_sd, train_mini_sd3} (no notebook
    calls it).
    """

    def __init__(self, accelerator, work: Path, name: str) -> None:
        self.accelerator = accelerator
        self.dir = work / name
        self.ckpt = self.dir / "checkpoint"
        self.done_flag = self.dir / "done.json"

        self.began = time.time()
        self.earlier_seconds = 0.0
        self.planned_before: int | None = None  # the step count the resumed checkpoint's run planned

    def resume(self) -> int:
        """Load the last checkpoint if there is one; return the step to start from."""
        if (self.ckpt / "step.json").exists():
            self.accelerator.load_state(str(self.ckpt))
            saved = json.loads((self.ckpt / "step.json").read_text())
            self.earlier_seconds = saved.get("seconds", 0.0)
            self.planned_before = saved.get("planned")
            self.accelerator.print(f"resuming {self.dir.name} from step {saved['step']}")
            return saved["step"]
        return 0

    def seconds(self) -> float:
        """Return the stage's wall time so far, over every run that trained it."""
        return round(self.earlier_seconds + time.time() - self.began, 1)

    def save(self, step: int, planned: int | None = None) -> None:
        """Save a checkpoint of every prepared object, with the step, the run's planned step count
        and the wall time so far."""
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            self.accelerator.save_state(str(self.ckpt))
            (self.ckpt / "step.json").write_text(
                json.dumps({"step": step, "seconds": self.seconds(), "planned": planned}))

    def extended(self, start: int, steps: int) -> dict:
        """Return ``{"extended_from": n, "at_step": start}`` when this run resumed a checkpoint whose
        run planned ``n`` != ``steps`` steps (its learning-rate schedule re-stretched there), else {}."""
        if start and self.planned_before is not None and self.planned_before != steps:
            return {"extended_from": self.planned_before, "at_step": start}
        return {}

    def finish(self, info: dict) -> None:
        """Mark the stage done, writing ``info`` with the stage's wall time added."""
        info["seconds"] = self.seconds()
        if self.accelerator.is_main_process:
            self.done_flag.write_text(json.dumps(info, indent=2))

    def finished(self) -> dict | None:
        """Return the info of a finished stage, or None when it has not finished."""
        return json.loads(self.done_flag.read_text()) if self.done_flag.exists() else None


def lr_factor(warmup: int, total: int) -> Callable[[int], float]:
    """Return the learning-rate factor per step: linear warm-up, then cosine decay from 1 to 0.1.

    Used by helpers.training.loop (no notebook calls it).
    """
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def adamw_with_warmup(params, lr: float, warmup: int, total: int, weight_decay: float = 0.01):
    """Return ``(optimizer, scheduler)``: AdamW over ``params`` with ``lr_factor``'s schedule.

    Used by helpers.training.{train_controlnet, train_mini_sd, train_mini_sd3} (no notebook calls
    it).
    """
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor(warmup, total))


@dataclass
class Updates:
    """What one training step changes: ``params`` (clipped to norm ``clip``), optimiser, schedule, EMAs.

    ``emas`` pairs each ``diffusers.training_utils.EMAModel`` with the (prepared) model it follows.
    Used by helpers.training.{loop, train_controlnet, train_mini_sd, train_mini_sd3} (no notebook
    calls it).
    """

    params: list
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    emas: Sequence[tuple] = ()
    clip: float | None = 1.0

    def step(self, accelerator, loss: torch.Tensor) -> None:
        """Back-propagate ``loss``, clip, step the optimiser and its schedule, then the EMAs."""
        accelerator.backward(loss)
        if self.clip is not None:
            accelerator.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad()
        for ema, model in self.emas:
            ema.step(accelerator.unwrap_model(model).parameters())

    def final_models(self, accelerator) -> list:
        """Return the models the EMAs follow, unwrapped, in eval mode, holding the EMA weights."""
        models = [accelerator.unwrap_model(model).eval() for _, model in self.emas]
        for (ema, _), model in zip(self.emas, models, strict=True):
            ema.copy_to(model.parameters())
        return models


def run_steps(stage: Stage, *, start: int, steps: int, save_every: int, desc: str,
              step: Callable[[int], dict[str, float]]) -> None:
    """Run ``step(i)`` for i from ``start`` to ``steps`` under a progress bar, saving as it goes.

    ``step`` returns the numbers the bar shows. A checkpoint is saved every ``save_every``
    steps and after the last, so that a later run with more steps can go on from there.
    Used by helpers.training.{loop, train_mini_sd, train_mini_sd3} (no notebook calls it).
    """
    from tqdm.auto import tqdm

    bar = tqdm(range(start, steps), desc=desc, initial=start, total=steps,
               disable=not stage.accelerator.is_local_main_process)
    for i in bar:
        shown = step(i)
        bar.set_postfix({name: f"{value:.4f}" for name, value in shown.items()})
        if (i + 1) % save_every == 0 and i + 1 < steps:
            stage.save(i + 1, planned=steps)
    stage.save(steps, planned=steps)


def training_noise_schedule(device):
    """Return SD 1.5's DDPM noise schedule for training and its signal-to-noise ratio per timestep.

    Used by helpers.training.loop (no notebook calls it).
    """
    from diffusers import DDPMScheduler

    from helpers.training.mini_sd import SD15_SCHEDULE

    noise_sched = DDPMScheduler(**{k: v for k, v in SD15_SCHEDULE.items()
                                   if k not in ("set_alpha_to_one", "steps_offset")})
    alphas = noise_sched.alphas_cumprod.to(device)
    return noise_sched, alphas / (1 - alphas)


def min_snr_loss(pred: torch.Tensor, noise: torch.Tensor, snr_t: torch.Tensor,
                 gamma: float) -> torch.Tensor:
    """Return the epsilon MSE per picture weighted by min(SNR, gamma) / SNR, averaged.

    Used by helpers.training.loop (no notebook calls it).
    """
    weight = torch.clamp(snr_t, max=gamma) / snr_t
    return (weight * ((pred - noise) ** 2).mean(dim=(1, 2, 3))).mean()


@dataclass
class Latents:
    """Pictures encoded once: the VAE posterior's ``means`` and ``stds``, and the scaling factor.

    Used by helpers.training.{loop, train_controlnet, train_mini_sd, train_mini_sd3} (no notebook
    calls it).
    """

    means: torch.Tensor
    stds: torch.Tensor
    scaling: float

    def sample(self, idx: list[int], generator: torch.Generator) -> torch.Tensor:
        """Return scaled latents of pictures ``idx``, a fresh draw from each posterior."""
        means, stds = self.means[idx], self.stds[idx]
        return (means + stds * torch.randn(means.shape, generator=generator)) * self.scaling


@dataclass(frozen=True)
class HighTimesteps:
    """From step ``start`` on, a ``share`` of each batch draws t from ``minimum`` to the last step.

    Used by helpers.training.{loop, train_mini_sd} (no notebook calls it).
    """

    minimum: int
    share: float
    start: int


def draw_timesteps(step: int, n: int, generator: torch.Generator, total: int,
                   high: HighTimesteps | None = None) -> torch.Tensor:
    """Return ``n`` random timesteps in [0, ``total``), more of them high once ``high`` applies.

    Used by helpers.training.loop (no notebook calls it).
    """
    t = torch.randint(0, total, (n,), generator=generator)
    if high is not None and step >= high.start:
        late = torch.randint(high.minimum, total, (n,), generator=generator)
        t = torch.where(torch.rand(n, generator=generator) < high.share, late, t)
    return t


def tokenize(tokenizer, captions: list[str], device) -> torch.Tensor:
    """Return the captions' token ids, padded to the tokenizer's length, on ``device``.

    Used by helpers.training.{loop, train_mini_sd3} (no notebook calls it).
    """
    return tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length,
                     truncation=True, return_tensors="pt").input_ids.to(device)


def train_denoiser(stage: Stage, updates: Updates, latents: Latents, *, tokenizer,
                   pick: Callable[[], list[int]], caption: Callable[[int], str],
                   predict: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, list[int]], torch.Tensor],
                   start: int, steps: int, save_every: int, min_snr_gamma: float,
                   generator: torch.Generator, desc: str,
                   high: HighTimesteps | None = None) -> float | None:
    """Return the smoothed loss after training a noise predictor from ``start`` to ``steps``.

    Each step, the numbered lines of SD's training:
    1. ``pick()`` picture indices and ``caption(i)`` each; tokenize the captions;
    2. z_0 = a fresh sample of each picture's latent (``latents.sample``);
    3. noise ~ N(0, I), t at random (``draw_timesteps``), z_t = sqrt(a_t) z_0 + sqrt(1 - a_t) noise;
    4. ``predict(z_t, t, ids, idx)``, the predicted noise;
    5. loss = min-SNR-weighted |noise - prediction|^2, then ``updates.step``.
    The smoothed loss is an exponential moving average (0.98) of the step losses.
    Used by helpers.training.{train_controlnet, train_mini_sd} (no notebook calls it).
    """
    accelerator = stage.accelerator
    device = accelerator.device
    noise_sched, snr = training_noise_schedule(device)
    total = noise_sched.config.num_train_timesteps
    smoothed: float | None = None

    def one_step(step: int) -> dict[str, float]:
        nonlocal smoothed
        idx = pick()
        ids = tokenize(tokenizer, [caption(i) for i in idx], device)
        clean = latents.sample(idx, generator).to(device)
        noise = torch.randn(clean.shape, generator=generator).to(device)
        t = draw_timesteps(step, len(idx), generator, total, high).to(device)
        noisy = noise_sched.add_noise(clean, noise, t)
        loss = min_snr_loss(predict(noisy, t, ids, idx), noise, snr[t], min_snr_gamma)
        updates.step(accelerator, loss)
        smoothed = loss.item() if smoothed is None else 0.98 * smoothed + 0.02 * loss.item()
        return {"loss": smoothed}

    run_steps(stage, start=start, steps=steps, save_every=save_every, desc=desc, step=one_step)
    return smoothed


def write_record(accelerator, out: Path, summary: dict) -> None:
    """Write ``summary`` as ``out/training.json`` (the main process only), the model card's source.

    Used by helpers.training.{train_controlnet, train_mini_sd, train_mini_sd3} (no notebook calls
    it).
    """
    if accelerator.is_main_process:
        (out / "training.json").write_text(json.dumps(summary, indent=2, default=str))


@dataclass
class CommandLine:
    """The options every training script takes: a preset, where to write, where to checkpoint.

    Used by helpers.training.{train_controlnet, train_mini_sd, train_mini_sd3} (no notebook calls
    it).
    """

    description: str
    presets: dict
    out: Path
    work: Path
    #: config fields that a flag of the same name may override (``unet_steps``: ``--unet-steps``)
    overrides: tuple[str, ...] = ()

    def parser(self) -> argparse.ArgumentParser:
        """Return a parser with --preset, --out, --work, --threads and one flag per override."""
        parser = argparse.ArgumentParser(description=self.description)
        parser.add_argument("--preset", choices=sorted(self.presets), default="shipped")
        parser.add_argument("--out", type=Path, default=self.out)
        parser.add_argument("--work", type=Path, default=self.work,
                            help="checkpoint folder; re-running with the same folder resumes")
        for flag in self.overrides:
            parser.add_argument(f"--{flag.replace('_', '-')}", type=int)
        parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
        return parser

    def config(self, args: argparse.Namespace):
        """Return a copy of the chosen preset with the flags given on the command line applied."""
        cfg = replace(self.presets[args.preset])
        for name in (*self.overrides, "threads"):
            if getattr(args, name) is not None:
                setattr(cfg, name, getattr(args, name))
        return cfg
