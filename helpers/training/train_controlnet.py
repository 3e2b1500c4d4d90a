"""Train the mini pose ControlNet on the bundled mini Stable Diffusion (for 08_controlnet).

Usage (the shipped model; resumable, re-run the same command to continue):

    python -m helpers.training.train_controlnet
    accelerate launch -m helpers.training.train_controlnet       # several GPUs or machines
    python -m helpers.training.train_controlnet --preset tiny --out /tmp/cn --base /tmp/mini  # smoke test

``ControlNetModel.from_unet`` copies the mini UNet's down blocks and middle block,
adds a small convolutional encoder for the 64 px pose guide and zero-initialised
1x1 convolutions ("zero convolutions") on every output, so that at step 0 the
ControlNet changes nothing. The VAE, text encoder and UNet stay frozen; only the
ControlNet learns to predict, with the UNet, the noise in pictures of people from
their pose guides (OpenPose colours, ``helpers.shapes.people.render_pose_guide``) and
captions. Checkpoints go to ``--work``; the ControlNet is written with
``save_pretrained`` (safetensors) to ``--out`` with ``training.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from helpers.core.latents import image_to_tensor, latent_distribution, picture_side
from helpers.training.train_mini_sd import (
    _lr_lambda,
    _Stage,
    min_snr_loss,
    training_noise_schedule,
)

# Training poses come from this seed; evaluation draws from EVAL_SEED and checks none repeat.
TRAIN_SEED = 0
EVAL_SEED = 2024


@dataclass
class ControlNetTrainConfig:
    """Everything that determines a ControlNet training run."""

    people: int = 8000
    steps: int = 4000
    batch: int = 64
    lr: float = 5e-4
    warmup: int = 100
    empty_prob: float = 0.1
    full_prob: float = 0.6
    min_snr_gamma: float = 5.0
    ema_decay: float = 0.998
    save_every: int = 250
    seed: int = TRAIN_SEED
    threads: int = 0


PRESETS: dict[str, ControlNetTrainConfig] = {
    "shipped": ControlNetTrainConfig(),
    "tiny": ControlNetTrainConfig(people=16, steps=3, batch=4, warmup=1, save_every=2),
}


def guide_to_tensor(image) -> torch.Tensor:
    """Return a pose guide as a 3xHxW float tensor in [0, 1] (what the pipeline feeds a ControlNet)."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


class PoseDataset:
    """``people`` random people: pictures in [-1, 1], pose guides in [0, 1], and captions."""

    def __init__(self, people: int, size: int, seed: int, empty_prob: float,
                 full_prob: float) -> None:
        from helpers.shapes.captions import random_caption
        from helpers.shapes.people import keypoints, random_person, render_person, render_pose_guide

        rng = random.Random(seed)
        self.people = [random_person(rng) for _ in range(people)]
        self.images = torch.stack([image_to_tensor(render_person(p, size)) for p in self.people])
        self.guides = torch.stack([guide_to_tensor(render_pose_guide(keypoints(p.pose), size))
                                   for p in self.people])
        self._caption_rng = random.Random(seed + 1)
        self._random_caption = random_caption
        self.empty_prob, self.full_prob = empty_prob, full_prob

    def __len__(self) -> int:
        return len(self.people)

    def caption(self, index: int) -> str:
        """Return a random caption for person ``index``: full, partial or empty."""
        return self._random_caption(self.people[index], self._caption_rng, self.empty_prob,
                                    self.full_prob)


def train(cfg: ControlNetTrainConfig, base: Path, out: Path, work: Path) -> dict:
    """Train a pose ControlNet on the pipeline in ``base``; write it to ``out``; return a summary."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from diffusers import ControlNetModel, StableDiffusionPipeline
    from diffusers.training_utils import EMAModel
    from tqdm.auto import tqdm


    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    accelerator = Accelerator()
    set_seed(cfg.seed)
    work.mkdir(parents=True, exist_ok=True)
    began = time.time()
    pipe = StableDiffusionPipeline.from_pretrained(base, safety_checker=None,
                                                   requires_safety_checker=False)
    vae, text_encoder, tokenizer, unet = pipe.vae, pipe.text_encoder, pipe.tokenizer, pipe.unet
    for part in (vae, text_encoder, unet):
        part.requires_grad_(False).eval()
    size = picture_side(pipe)
    data = PoseDataset(cfg.people, size, cfg.seed, cfg.empty_prob, cfg.full_prob)
    means, stds = latent_distribution(vae, data.images, batch=128)
    scaling = float(vae.config.scaling_factor)
    accelerator.print(f"data: {len(data)} people at {size}px, latents {tuple(means.shape[1:])} "
                      f"({time.time() - began:.1f} s)")

    stage = _Stage(accelerator, work, "controlnet")
    controlnet = ControlNetModel.from_unet(unet)
    controlnet.train()
    opt = torch.optim.AdamW(controlnet.parameters(), lr=cfg.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg.warmup, cfg.steps))
    ema = EMAModel(controlnet.parameters(), decay=cfg.ema_decay)
    accelerator.register_for_checkpointing(ema)
    controlnet, opt, sched = accelerator.prepare(controlnet, opt, sched)
    unet.to(accelerator.device)
    text_encoder.to(accelerator.device)
    start = stage.resume()
    noise_sched, snr = training_noise_schedule(accelerator.device)
    rng = random.Random(cfg.seed * 1000 + 3 + start)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + 4 + start)
    loss_avg = None
    bar = tqdm(range(start, cfg.steps), desc="ControlNet", initial=start, total=cfg.steps,
               disable=not accelerator.is_local_main_process)
    for step in bar:
        idx = [rng.randrange(len(data)) for _ in range(cfg.batch)]
        ids = tokenizer([data.caption(i) for i in idx], padding="max_length",
                        max_length=tokenizer.model_max_length, truncation=True,
                        return_tensors="pt").input_ids.to(accelerator.device)
        latents = (means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)) * scaling
        latents = latents.to(accelerator.device)
        noise = torch.randn(latents.shape, generator=gen).to(accelerator.device)
        t = torch.randint(0, noise_sched.config.num_train_timesteps, (len(idx),),
                          generator=gen).to(accelerator.device)
        noisy = noise_sched.add_noise(latents, noise, t)
        with torch.no_grad():
            context = text_encoder(ids)[0]
        down, mid = controlnet(noisy, t, encoder_hidden_states=context,
                               controlnet_cond=data.guides[idx].to(accelerator.device),
                               return_dict=False)
        pred = unet(noisy, t, context, down_block_additional_residuals=down,
                    mid_block_additional_residual=mid).sample
        loss = min_snr_loss(pred, noise, snr[t], cfg.min_snr_gamma)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(controlnet.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        ema.step(accelerator.unwrap_model(controlnet).parameters())
        loss_avg = loss.item() if loss_avg is None else 0.98 * loss_avg + 0.02 * loss.item()
        bar.set_postfix(loss=f"{loss_avg:.4f}")
        if (step + 1) % cfg.save_every == 0 and step + 1 < cfg.steps:
            stage.save(step + 1)
    stage.save(cfg.steps)  # so that a later run with more steps can go on from here
    controlnet = accelerator.unwrap_model(controlnet).eval()
    ema.copy_to(controlnet.parameters())
    info = {"steps": cfg.steps, "smoothed_loss": round(float(loss_avg or 0.0), 5)}
    stage.finish(info)
    from helpers.core.config import REPO_ROOT

    base_name = Path(base).resolve()
    if base_name.is_relative_to(REPO_ROOT):
        base_name = base_name.relative_to(REPO_ROOT)
    summary = {"config": asdict(cfg), "base": str(base_name), "controlnet": info,
               "parameters_millions": round(sum(p.numel() for p in controlnet.parameters()) / 1e6, 2),
               "seconds_this_run": round(time.time() - began, 1),
               "wall_clock_minutes": round(info["seconds"] / 60, 1),
               "torch_threads": torch.get_num_threads(), "device": str(accelerator.device)}
    if accelerator.is_main_process:
        controlnet.save_pretrained(out, safe_serialization=True)
        (out / "training.json").write_text(json.dumps(summary, indent=2, default=str))
        accelerator.print(f"saved the ControlNet to {out} after {summary['seconds_this_run']} s")
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Return the training summary after parsing the command line and training."""
    from helpers.core.config import BUNDLED_CONTROLNET_DIR, BUNDLED_MODEL_DIR, REPO_ROOT

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="shipped")
    parser.add_argument("--base", type=Path, default=BUNDLED_MODEL_DIR,
                        help="the mini Stable Diffusion to control (a diffusers folder)")
    parser.add_argument("--out", type=Path, default=BUNDLED_CONTROLNET_DIR)
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "runs" / "mini-controlnet",
                        help="checkpoint folder; re-running with the same folder resumes")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    cfg = replace(PRESETS[args.preset])
    if args.steps is not None:
        cfg.steps = args.steps
    if args.threads is not None:
        cfg.threads = args.threads
    return train(cfg, args.base, args.out, args.work)


if __name__ == "__main__":
    main()
