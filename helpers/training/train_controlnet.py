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

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from helpers.control.pose_control import people_from_seed
from helpers.core.latents import image_to_tensor, latent_distribution, picture_side
from helpers.shapes.captions import random_caption
from helpers.shapes.people import keypoints, render_person, render_pose_guide
from helpers.training.loop import (
    CommandLine,
    Latents,
    Stage,
    Updates,
    adamw_with_warmup,
    start_run,
    train_denoiser,
    write_record,
)


@dataclass
class ControlNetTrainConfig:
    """Everything that determines a ControlNet training run.

    Used by helpers.training.train_controlnet (no notebook calls it).
    """

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
    #: the training people are drawn from this seed; training.json records it, and
    #: helpers.control.pose_control.unseen_people reads it there to leave those poses out
    seed: int = 0
    threads: int = 0


PRESETS: dict[str, ControlNetTrainConfig] = {
    "shipped": ControlNetTrainConfig(),
    "tiny": ControlNetTrainConfig(people=16, steps=3, batch=4, warmup=1, save_every=2),
}


def guide_to_tensor(image) -> torch.Tensor:
    """Return a pose guide as a 3xHxW float tensor in [0, 1] (what the pipeline feeds a ControlNet).

    Used by helpers.training.train_controlnet (no notebook calls it).
    """
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


class PoseDataset:
    """``people`` random people: pictures in [-1, 1], pose guides in [0, 1], and captions.

    Used by helpers.training.train_controlnet (no notebook calls it).
    """

    def __init__(self, people: int, size: int, seed: int, empty_prob: float,
                 full_prob: float) -> None:
        self.people = people_from_seed(people, seed)  # as unseen_people redraws them
        self.images = torch.stack([image_to_tensor(render_person(p, size)) for p in self.people])
        self.guides = torch.stack([guide_to_tensor(render_pose_guide(keypoints(p.pose), size))
                                   for p in self.people])
        self._caption_rng = random.Random(seed + 1)
        self.empty_prob, self.full_prob = empty_prob, full_prob

    def __len__(self) -> int:
        return len(self.people)

    def caption(self, index: int) -> str:
        """Return a random caption for person ``index``: full, partial or empty."""
        return random_caption(self.people[index], self._caption_rng, self.empty_prob,
                              self.full_prob)


def train(cfg: ControlNetTrainConfig, base: Path, out: Path, work: Path) -> dict:
    """Train a pose ControlNet on the pipeline in ``base``; write it to ``out``; return a summary.

    Used by helpers.training.train_controlnet (no notebook calls it).
    """
    from diffusers import ControlNetModel, StableDiffusionPipeline
    from diffusers.training_utils import EMAModel

    accelerator = start_run(cfg.seed, cfg.threads, work)
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

    stage = Stage(accelerator, work, "controlnet")
    controlnet = ControlNetModel.from_unet(unet)
    controlnet.train()
    params = list(controlnet.parameters())
    opt, sched = adamw_with_warmup(params, cfg.lr, cfg.warmup, cfg.steps)
    ema = EMAModel(controlnet.parameters(), decay=cfg.ema_decay)
    accelerator.register_for_checkpointing(ema)
    controlnet, opt, sched = accelerator.prepare(controlnet, opt, sched)
    updates = Updates(params, opt, sched, emas=[(ema, controlnet)])
    unet.to(accelerator.device)
    text_encoder.to(accelerator.device)
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + 3 + start)

    def predict(noisy, t, ids, idx):
        with torch.no_grad():
            context = text_encoder(ids)[0]
        down, mid = controlnet(noisy, t, encoder_hidden_states=context,
                               controlnet_cond=data.guides[idx].to(accelerator.device),
                               return_dict=False)
        return unet(noisy, t, context, down_block_additional_residuals=down,
                    mid_block_additional_residual=mid).sample

    smoothed = train_denoiser(
        stage, updates, Latents(means, stds, scaling), tokenizer=tokenizer,
        pick=lambda: [rng.randrange(len(data)) for _ in range(cfg.batch)], caption=data.caption,
        predict=predict, start=start, steps=cfg.steps, save_every=cfg.save_every,
        min_snr_gamma=cfg.min_snr_gamma,
        generator=torch.Generator().manual_seed(cfg.seed * 1000 + 4 + start), desc="ControlNet")
    (controlnet,) = updates.final_models(accelerator)
    info = {"steps": cfg.steps, "smoothed_loss": round(float(smoothed or 0.0), 5)}
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
        write_record(accelerator, out, summary)
        accelerator.print(f"saved the ControlNet to {out} after {summary['seconds_this_run']} s")
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Return the training summary after parsing the command line and training.

    Used by python -m helpers.training.train_controlnet (no notebook calls it).
    """
    from helpers.core.config import BUNDLED_CONTROLNET_DIR, BUNDLED_MODEL_DIR, REPO_ROOT

    command = CommandLine(__doc__.split("\n")[0], PRESETS, out=BUNDLED_CONTROLNET_DIR,
                          work=REPO_ROOT / "runs" / "mini-controlnet", overrides=("steps",))
    parser = command.parser()
    parser.add_argument("--base", type=Path, default=BUNDLED_MODEL_DIR,
                        help="the mini Stable Diffusion to control (a diffusers folder)")
    args = parser.parse_args(argv)
    cfg = command.config(args)
    return train(cfg, args.base, args.out, args.work)


if __name__ == "__main__":
    main()
