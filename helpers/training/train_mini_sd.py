"""Train the mini Stable Diffusion on the Shapes world: the VAE first, then text encoder + UNet.

Usage (the shipped model; resumable, re-run the same command to continue):

    python -m helpers.training.train_mini_sd
    accelerate launch -m helpers.training.train_mini_sd          # several GPUs or machines
    python -m helpers.training.train_mini_sd --preset tiny --out /tmp/mini   # a smoke test

Stage 1 trains an AutoencoderKL on every one-object picture and on people.
Stage 2 encodes the pictures once, then trains the CLIP text encoder and the UNet
together to predict the noise in those latents (epsilon, SD 1.5's noise schedule),
with partial captions and 10% empty captions for classifier-free guidance.
Checkpoints go to ``--work`` every ``--save-every`` steps; the final pipeline is
written with ``save_pretrained`` (safetensors) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from helpers.core.latents import latent_distribution
from helpers.training.mini_sd import (
    MiniSDConfig,
    assemble_pipeline,
    build_text_encoder,
    build_tokenizer,
    build_unet,
    build_vae,
)


@dataclass
class TrainConfig:
    """Everything that determines a training run."""

    model: MiniSDConfig = field(default_factory=MiniSDConfig)
    people: int = 5000
    shapes_limit: int | None = None
    people_share: float = 0.2
    empty_prob: float = 0.1
    full_prob: float = 0.5
    vae_steps: int = 3000
    vae_batch: int = 32
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    edge_weight: float = 10.0
    edge_weight_from: int = 1000
    unet_steps: int = 7000
    unet_batch: int = 64
    unet_lr: float = 1e-3
    warmup: int = 200
    min_snr_gamma: float = 5.0
    high_t_share: float = 0.5
    high_t_min: int = 700
    high_t_from: int = 3500
    ema_decay: float = 0.999
    save_every: int = 500
    seed: int = 0
    threads: int = 0


PRESETS: dict[str, TrainConfig] = {
    "shipped": TrainConfig(),
    "tiny": TrainConfig(
        model=MiniSDConfig(image_size=32, vae_channels=(8, 16, 16), vae_groups=8, text_hidden=32,
                           text_layers=1, text_heads=2, unet_channels=(32, 32), unet_head_dim=8,
                           unet_groups=8),
        people=8, shapes_limit=32, vae_steps=3, vae_batch=4, unet_steps=3, unet_batch=4,
        warmup=1, save_every=2, edge_weight_from=1, high_t_from=1,
    ),
}


def _lr_lambda(warmup: int, total: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return factor


def _batch_indices(rng: random.Random, data, batch: int, people_share: float) -> list[int]:
    """Return ``batch`` random item indices of ``data``, people making up ``people_share``."""
    out = []
    for _ in range(batch):
        if data.n_people and rng.random() < people_share:
            out.append(data.n_shapes + rng.randrange(data.n_people))
        else:
            out.append(rng.randrange(data.n_shapes))
    return out


class _Stage:
    """Resumable bookkeeping for one training stage under ``work/name``."""

    def __init__(self, accelerator, work: Path, name: str) -> None:
        self.accelerator = accelerator
        self.dir = work / name
        self.ckpt = self.dir / "checkpoint"
        self.done_flag = self.dir / "done.json"

        self.began = time.time()
        self.earlier_seconds = 0.0

    def resume(self) -> int:
        """Load the last checkpoint if there is one; return the step to start from."""
        if (self.ckpt / "step.json").exists():
            self.accelerator.load_state(str(self.ckpt))
            saved = json.loads((self.ckpt / "step.json").read_text())
            self.earlier_seconds = saved.get("seconds", 0.0)
            self.accelerator.print(f"resuming {self.dir.name} from step {saved['step']}")
            return saved["step"]
        return 0

    def seconds(self) -> float:
        """Return the stage's wall time so far, over every run that trained it."""
        return round(self.earlier_seconds + time.time() - self.began, 1)

    def save(self, step: int) -> None:
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            self.accelerator.save_state(str(self.ckpt))
            (self.ckpt / "step.json").write_text(
                json.dumps({"step": step, "seconds": self.seconds()}))

    def finish(self, info: dict) -> None:
        info["seconds"] = self.seconds()
        if self.accelerator.is_main_process:
            self.done_flag.write_text(json.dumps(info, indent=2))

    def finished(self) -> dict | None:
        return json.loads(self.done_flag.read_text()) if self.done_flag.exists() else None


def edge_mask(images: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Return a Bx1xHxW mask of pixels that differ from a 4-neighbour by more than ``threshold``."""
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1), mode="replicate")
    centre = padded[:, :, 1:-1, 1:-1]
    diffs = [(centre - padded[:, :, 1 + dy:padded.shape[2] - 1 + dy,
                              1 + dx:padded.shape[3] - 1 + dx]).abs()
             for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    return (torch.stack(diffs).amax(dim=(0, 2)) > threshold).float().unsqueeze(1)


def train_vae(cfg: TrainConfig, data, accelerator, work: Path):
    """Train the AutoencoderKL (stage 1); return it and the stage's info."""
    from tqdm.auto import tqdm

    vae = build_vae(cfg.model)
    stage = _Stage(accelerator, work, "vae")
    if (info := stage.finished()) is not None and info["steps"] >= cfg.vae_steps:
        vae = type(vae).from_pretrained(stage.dir / "final")
        accelerator.print(f"VAE already trained ({info['steps']} steps), loaded")
        return vae, info
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.vae_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.warmup, cfg.vae_steps))
    vae, opt, sched = accelerator.prepare(vae, opt, sched)
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + start)
    mse = torch.tensor(float("nan"))
    bar = tqdm(range(start, cfg.vae_steps), desc="VAE", initial=start, total=cfg.vae_steps,
               disable=not accelerator.is_local_main_process)
    for step in bar:
        idx = _batch_indices(rng, data, cfg.vae_batch, cfg.people_share)
        x = data.images[idx].to(accelerator.device)
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        mse = torch.nn.functional.mse_loss(recon, x)
        if step >= cfg.edge_weight_from:
            # Most pixels are flat colour; the shape lives in the few edge pixels, where plain
            # MSE leaves small triangles and squares rounded. Weight those pixels more.
            weight = 1.0 + (cfg.edge_weight - 1.0) * edge_mask(x)
            recon_loss = (weight * (recon - x) ** 2).mean() / weight.mean()
        else:
            recon_loss = mse
        loss = recon_loss + cfg.kl_weight * posterior.kl().mean()
        accelerator.backward(loss)
        opt.step()
        sched.step()
        opt.zero_grad()
        bar.set_postfix(mse=f"{mse.item():.4f}")
        if (step + 1) % cfg.save_every == 0 and step + 1 < cfg.vae_steps:
            stage.save(step + 1)
    stage.save(cfg.vae_steps)  # so that a later run with more steps can go on from here
    vae = accelerator.unwrap_model(vae).eval()
    info = {"steps": cfg.vae_steps, "final_mse": float(mse.item())}
    if accelerator.is_main_process:
        vae.save_pretrained(stage.dir / "final")
    stage.finish(info)
    # Forget the VAE's optimizer and model, so that the UNet stage's checkpoints hold
    # only its own objects whether or not this run trained the VAE.
    accelerator.free_memory()
    return vae, info


def training_noise_schedule(device):
    """Return SD 1.5's DDPM noise schedule for training and its signal-to-noise ratio per timestep."""
    from diffusers import DDPMScheduler

    from helpers.training.mini_sd import SD15_SCHEDULE

    noise_sched = DDPMScheduler(**{k: v for k, v in SD15_SCHEDULE.items()
                                   if k not in ("set_alpha_to_one", "steps_offset")})
    alphas = noise_sched.alphas_cumprod.to(device)
    return noise_sched, alphas / (1 - alphas)


def min_snr_loss(pred: torch.Tensor, noise: torch.Tensor, snr_t: torch.Tensor,
                 gamma: float) -> torch.Tensor:
    """Return the epsilon MSE per picture weighted by min(SNR, gamma) / SNR, averaged."""
    weight = torch.clamp(snr_t, max=gamma) / snr_t
    return (weight * ((pred - noise) ** 2).mean(dim=(1, 2, 3))).mean()


def train_unet(cfg: TrainConfig, data, vae, tokenizer, accelerator, work: Path):
    """Train the text encoder and UNet together on VAE latents (stage 2); return them and info."""
    from diffusers.training_utils import EMAModel
    from tqdm.auto import tqdm


    stage = _Stage(accelerator, work, "unet")
    means, stds = (t.cpu() for t in latent_distribution(vae, data.images, batch=128))
    scaling = 1.0 / float((means + stds * torch.randn_like(stds)).std())
    vae.register_to_config(scaling_factor=scaling)
    accelerator.print(f"latents {tuple(means.shape[1:])}, scaling factor {scaling:.4f}")

    text_encoder = build_text_encoder(cfg.model, tokenizer)
    unet = build_unet(cfg.model)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.unet_lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.warmup, cfg.unet_steps))
    ema_unet = EMAModel(unet.parameters(), decay=cfg.ema_decay)
    ema_text = EMAModel(text_encoder.parameters(), decay=cfg.ema_decay)
    accelerator.register_for_checkpointing(ema_unet, ema_text)
    unet, text_encoder, opt, sched = accelerator.prepare(unet, text_encoder, opt, sched)
    start = stage.resume()
    noise_sched, snr = training_noise_schedule(accelerator.device)
    rng = random.Random(cfg.seed * 1000 + 1 + start)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 2 + start)
    loss_avg = None
    bar = tqdm(range(start, cfg.unet_steps), desc="UNet", initial=start, total=cfg.unet_steps,
               disable=not accelerator.is_local_main_process)
    for step in bar:
        idx = _batch_indices(rng, data, cfg.unet_batch, cfg.people_share)
        captions = [data.caption(i) for i in idx]
        ids = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length,
                        truncation=True, return_tensors="pt").input_ids.to(accelerator.device)
        latents = (means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)) * scaling
        latents = latents.to(accelerator.device)
        noise = torch.randn(latents.shape, generator=gen).to(accelerator.device)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),), generator=gen)
        if step >= cfg.high_t_from:
            # SD's schedule leaves about 7% of the signal at t=999, enough for a tiny latent
            # to show where the object is; the model then copies position from the noise and
            # ignores "left"/"right". Extra samples at high t, where only the caption can
            # say where the object goes, teach it to read the position word.
            high = torch.randint(cfg.high_t_min, noise_sched.config.num_train_timesteps,
                                 (len(idx),), generator=gen)
            t = torch.where(torch.rand(len(idx), generator=gen) < cfg.high_t_share, high, t)
        t = t.to(accelerator.device)
        noisy = noise_sched.add_noise(latents, noise, t)
        context = text_encoder(ids)[0]
        pred = unet(noisy, t, context).sample
        loss = min_snr_loss(pred, noise, snr[t], cfg.min_snr_gamma)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        ema_unet.step(accelerator.unwrap_model(unet).parameters())
        ema_text.step(accelerator.unwrap_model(text_encoder).parameters())
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        bar.set_postfix(loss=f"{loss_avg:.4f}")
        if (step + 1) % cfg.save_every == 0 and step + 1 < cfg.unet_steps:
            stage.save(step + 1)
    stage.save(cfg.unet_steps)  # so that a later run with more steps can go on from here
    unet = accelerator.unwrap_model(unet).eval()
    text_encoder = accelerator.unwrap_model(text_encoder).eval()
    ema_unet.copy_to(unet.parameters())
    ema_text.copy_to(text_encoder.parameters())
    info = {"steps": cfg.unet_steps, "smoothed_loss": round(float(loss_avg or 0.0), 5),
            "scaling_factor": scaling}
    stage.finish(info)
    return text_encoder, unet, info


def train(cfg: TrainConfig, out: Path, work: Path) -> dict:
    """Run both stages and write the pipeline to ``out``; return a summary dict."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    from helpers.shapes import all_shapes
    from helpers.shapes.dataset import ShapesDataset

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    accelerator = Accelerator()
    set_seed(cfg.seed)
    work.mkdir(parents=True, exist_ok=True)
    began = time.time()
    shapes = all_shapes()
    if cfg.shapes_limit is not None:
        shapes = random.Random(cfg.seed).sample(shapes, cfg.shapes_limit)
    data = ShapesDataset(size=cfg.model.image_size, people=cfg.people, shapes=shapes,
                         empty_prob=cfg.empty_prob, full_prob=cfg.full_prob, seed=cfg.seed)
    accelerator.print(f"data: {len(shapes)} one-object pictures + {cfg.people} people "
                      f"at {cfg.model.image_size}px ({time.time() - began:.1f} s)")
    tokenizer = build_tokenizer(cfg.model)
    vae, vae_info = train_vae(cfg, data, accelerator, work)
    text_encoder, unet, unet_info = train_unet(cfg, data, vae, tokenizer, accelerator, work)
    summary = {"config": asdict(cfg), "vae": vae_info, "unet": unet_info,
               "seconds_this_run": round(time.time() - began, 1),
               "wall_clock_minutes": round((vae_info["seconds"] + unet_info["seconds"]) / 60, 1),
               "torch_threads": torch.get_num_threads(), "device": str(accelerator.device)}
    if accelerator.is_main_process:
        pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet)
        pipe.save_pretrained(out, safe_serialization=True)
        (out / "training.json").write_text(json.dumps(summary, indent=2, default=str))
        accelerator.print(f"saved the pipeline to {out} after {summary['seconds_this_run']} s")
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train. Introduced in 04_inside_stable_diffusion."""
    from helpers.core.config import BUNDLED_MODEL_DIR, REPO_ROOT

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="shipped")
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "runs" / "mini-sd",
                        help="checkpoint folder; re-running with the same folder resumes")
    parser.add_argument("--vae-steps", type=int)
    parser.add_argument("--unet-steps", type=int)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    cfg = replace(PRESETS[args.preset])
    if args.vae_steps is not None:
        cfg.vae_steps = args.vae_steps
    if args.unet_steps is not None:
        cfg.unet_steps = args.unet_steps
    if args.threads is not None:
        cfg.threads = args.threads
    return train(cfg, args.out, args.work)


if __name__ == "__main__":
    main()
