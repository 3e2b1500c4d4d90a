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

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from helpers.core.latents import latent_distribution
from helpers.training.loop import (
    CommandLine,
    HighTimesteps,
    Latents,
    Stage,
    Updates,
    adamw_with_warmup,
    run_steps,
    start_run,
    train_denoiser,
    write_record,
)
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
    """Everything that determines a training run.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """

    model: MiniSDConfig = field(default_factory=MiniSDConfig)
    people: int = 5000
    shapes_limit: int | None = None
    people_share: float = 0.2
    empty_prob: float = 0.1
    full_prob: float = 0.5
    korean_share: float = 0.5
    vae_loss: str = "l1"
    vae_steps: int = 5000
    vae_crop: int | None = 32
    vae_full_from: int = 3400
    vae_batch: int = 32
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    edge_weight: float = 10.0
    edge_weight_from: int = 1000
    decoder_steps: int = 400
    decoder_lr: float = 1e-4
    decoder_worst_weight: float = 0.05
    unet_steps: int = 13000  # the shipped run was planned for 7000 and extended twice (see its card)
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
        warmup=1, save_every=2, edge_weight_from=1, high_t_from=1, vae_crop=16, vae_full_from=2,
        decoder_steps=2,
    ),
}


def _batch_indices(rng: random.Random, data, batch: int, people_share: float) -> list[int]:
    """Return ``batch`` random item indices of ``data``, people making up ``people_share``."""
    out = []
    for _ in range(batch):
        if data.n_people and rng.random() < people_share:
            out.append(data.n_shapes + rng.randrange(data.n_people))
        else:
            out.append(rng.randrange(data.n_shapes))
    return out


def edge_mask(images: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Return a Bx1xHxW mask of pixels that differ from a 4-neighbour by more than ``threshold``.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1), mode="replicate")
    centre = padded[:, :, 1:-1, 1:-1]
    diffs = [(centre - padded[:, :, 1 + dy:padded.shape[2] - 1 + dy,
                              1 + dx:padded.shape[3] - 1 + dx]).abs()
             for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    return (torch.stack(diffs).amax(dim=(0, 2)) > threshold).float().unsqueeze(1)


def random_crops(images: torch.Tensor, side: int, grid: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Return one random ``side``-pixel crop of each picture, its corner on a ``grid``-pixel grid.

    The VAE is convolutional, so most of its training can see crops: a 32-pixel crop costs a
    quarter of a 64-pixel picture. Corners on the latent grid (8 pixels for an 8x VAE) keep
    each latent pixel covering the same kind of patch as in a whole picture.
    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    batch, _, height, width = images.shape
    if side > min(height, width) or side % grid:
        raise ValueError(f"crop side {side} must be a multiple of {grid} and fit {height}x{width}")
    ys = torch.randint(0, (height - side) // grid + 1, (batch,), generator=generator) * grid
    xs = torch.randint(0, (width - side) // grid + 1, (batch,), generator=generator) * grid
    return torch.stack([img[:, y:y + side, x:x + side]
                        for img, y, x in zip(images, ys.tolist(), xs.tolist(), strict=True)])


def _pixel_loss(cfg: TrainConfig, recon: torch.Tensor, x: torch.Tensor, *, edges: bool) -> torch.Tensor:
    """The VAE's pixel loss, shared by stage 1 and the decoder fine-tune."""
    # L1 (SD's autoencoder's pixel loss) keeps flat colours flat where MSE tolerates many
    # small errors; "mse" is the first shipped model's loss.
    error = (recon - x).abs() if cfg.vae_loss == "l1" else (recon - x) ** 2
    if not edges:
        return error.mean()
    # Most pixels are flat colour; the shape lives in the few edge pixels, where a plain
    # mean leaves small triangles and squares rounded. Weight those pixels more.
    weight = 1.0 + (cfg.edge_weight - 1.0) * edge_mask(x)
    return (weight * error).mean() / weight.mean()


def train_vae(cfg: TrainConfig, data, accelerator, work: Path):
    """Train the AutoencoderKL (stage 1); return it and the stage's info.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    vae = build_vae(cfg.model)
    stage = Stage(accelerator, work, "vae")
    if (info := stage.finished()) is not None and info["steps"] >= cfg.vae_steps:
        vae = type(vae).from_pretrained(stage.dir / "final")
        accelerator.print(f"VAE already trained ({info['steps']} steps), loaded")
        return vae, info
    opt, sched = adamw_with_warmup(vae.parameters(), cfg.vae_lr, cfg.warmup, cfg.vae_steps)
    vae, opt, sched = accelerator.prepare(vae, opt, sched)
    updates = Updates(params=list(vae.parameters()), optimizer=opt, scheduler=sched, clip=None)
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + start)
    crop_generator = torch.Generator().manual_seed(cfg.seed * 1000 + 3 + start)
    last = {"mse": float("nan")}

    def one_step(step: int) -> dict[str, float]:
        idx = _batch_indices(rng, data, cfg.vae_batch, cfg.people_share)
        x = data.images[idx].to(accelerator.device)
        if cfg.vae_crop and step < cfg.vae_full_from:
            x = random_crops(x, cfg.vae_crop, grid=2 ** (len(cfg.model.vae_channels) - 1),
                             generator=crop_generator)
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        mse = torch.nn.functional.mse_loss(recon, x)
        recon_loss = _pixel_loss(cfg, recon, x, edges=step >= cfg.edge_weight_from)
        updates.step(accelerator, recon_loss + cfg.kl_weight * posterior.kl().mean())
        last["mse"] = mse.item()
        return last

    run_steps(stage, start=start, steps=cfg.vae_steps, save_every=cfg.save_every, desc="VAE",
              step=one_step)
    info = {"steps": cfg.vae_steps, "final_mse": float(last["mse"]),
            **stage.extended(start, cfg.vae_steps)}
    return _finish_vae_stage(stage, accelerator, vae, info)


def _finish_vae_stage(stage: Stage, accelerator, vae, info: dict):
    """Return ``(vae, info)`` after saving the trained VAE as the stage's final folder and marking it done.

    The accelerator forgets the stage's optimizer and model, so that the next stage's checkpoints
    hold only its own objects whether or not this run trained this stage.
    """
    vae = accelerator.unwrap_model(vae).eval()
    if accelerator.is_main_process:
        vae.save_pretrained(stage.dir / "final")
    stage.finish(info)
    accelerator.free_memory()
    return vae, info


def finetune_decoder(cfg: TrainConfig, data, vae, accelerator, work: Path):
    """Fine-tune the VAE's decoder with its encoder frozen (stage 3); return the VAE and the stage's info.

    Stable Diffusion's own autoencoder got the same treatment after SD was trained (the "ft-MSE"
    decoder): with the encoder frozen the latents do not change, so the UNet trained on them is
    still right. The loss is the VAE's edge-weighted pixel loss plus ``decoder_worst_weight``
    times each picture's worst squared pixel error: L1 is content to leave a few pixels far off
    (a corner pixel that snaps to the object's colour), which the Shapes reader, and a student,
    see as a speck; the worst-pixel term removes them.
    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    stage = Stage(accelerator, work, "decoder")
    if (info := stage.finished()) is not None and info["steps"] >= cfg.decoder_steps:
        tuned = type(vae).from_pretrained(stage.dir / "final")
        accelerator.print(f"decoder already fine-tuned ({info['steps']} steps), loaded")
        return tuned, info
    frozen = list(vae.encoder.parameters()) + list(vae.quant_conv.parameters())
    for p in frozen:
        p.requires_grad_(False)
    params = [p for p in vae.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.decoder_lr, weight_decay=0.0)
    constant = torch.optim.lr_scheduler.LambdaLR(opt, lambda _step: 1.0)
    vae, opt, constant = accelerator.prepare(vae, opt, constant)
    updates = Updates(params=params, optimizer=opt, scheduler=constant, clip=None)
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + 4 + start)
    noise = torch.Generator().manual_seed(cfg.seed * 1000 + 5 + start)
    last = {"worst": float("nan")}
    model = accelerator.unwrap_model(vae)

    def one_step(step: int) -> dict[str, float]:
        idx = _batch_indices(rng, data, cfg.vae_batch, cfg.people_share)
        x = data.images[idx].to(accelerator.device)
        with torch.no_grad():
            posterior = model.encode(x).latent_dist
            z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=noise)
        recon = model.decode(z).sample
        worst = ((recon - x) ** 2).amax(dim=(1, 2, 3)).mean()
        updates.step(accelerator, _pixel_loss(cfg, recon, x, edges=True) + cfg.decoder_worst_weight * worst)
        last["worst"] = worst.item()
        return last

    run_steps(stage, start=start, steps=cfg.decoder_steps, save_every=cfg.save_every,
              desc="decoder", step=one_step)
    for p in frozen:
        p.requires_grad_(True)
    info = {"steps": cfg.decoder_steps, "final_worst_pixel": float(last["worst"]),
            **stage.extended(start, cfg.decoder_steps)}
    return _finish_vae_stage(stage, accelerator, vae, info)


def train_unet(cfg: TrainConfig, data, vae, tokenizer, accelerator, work: Path):
    """Train the text encoder and UNet together on VAE latents (stage 2); return them and info.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from diffusers.training_utils import EMAModel

    stage = Stage(accelerator, work, "unet")
    means, stds = (t.cpu() for t in latent_distribution(vae, data.images, batch=128))
    scaling = 1.0 / float((means + stds * torch.randn_like(stds)).std())
    vae.register_to_config(scaling_factor=scaling)
    accelerator.print(f"latents {tuple(means.shape[1:])}, scaling factor {scaling:.4f}")

    text_encoder = build_text_encoder(cfg.model, tokenizer)
    unet = build_unet(cfg.model)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt, sched = adamw_with_warmup(params, cfg.unet_lr, cfg.warmup, cfg.unet_steps)
    ema_unet = EMAModel(unet.parameters(), decay=cfg.ema_decay)
    ema_text = EMAModel(text_encoder.parameters(), decay=cfg.ema_decay)
    accelerator.register_for_checkpointing(ema_unet, ema_text)
    unet, text_encoder, opt, sched = accelerator.prepare(unet, text_encoder, opt, sched)
    updates = Updates(params, opt, sched, emas=[(ema_unet, unet), (ema_text, text_encoder)])
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + 1 + start)

    def predict(noisy, t, ids, idx):
        return unet(noisy, t, text_encoder(ids)[0]).sample

    # SD's schedule leaves about 7% of the signal at t=999, enough for a tiny latent to show
    # where the object is; the model then copies position from the noise and ignores
    # "left"/"right". Extra samples at high t, where only the caption can say where the object
    # goes, teach it to read the position word.
    high = HighTimesteps(cfg.high_t_min, cfg.high_t_share, cfg.high_t_from)
    smoothed = train_denoiser(
        stage, updates, Latents(means, stds, scaling), tokenizer=tokenizer,
        pick=lambda: _batch_indices(rng, data, cfg.unet_batch, cfg.people_share),
        caption=data.caption, predict=predict, start=start, steps=cfg.unet_steps,
        save_every=cfg.save_every, min_snr_gamma=cfg.min_snr_gamma,
        generator=torch.Generator().manual_seed(cfg.seed * 1000 + 2 + start), desc="UNet", high=high)
    unet, text_encoder = updates.final_models(accelerator)
    done = stage.finished()
    if start >= cfg.unet_steps and done is not None:  # nothing trained now: keep the run's record
        return text_encoder, unet, done
    info = {"steps": cfg.unet_steps, "smoothed_loss": round(float(smoothed or 0.0), 5),
            "scaling_factor": scaling, **stage.extended(start, cfg.unet_steps)}
    stage.finish(info)
    return text_encoder, unet, info


def train(cfg: TrainConfig, out: Path, work: Path) -> dict:
    """Run both stages and write the pipeline to ``out``; return a summary dict.

    Used by helpers.training.train_mini_sd (no notebook calls it).
    """
    from helpers.shapes import all_shapes
    from helpers.shapes.dataset import ShapesDataset

    accelerator = start_run(cfg.seed, cfg.threads, work)
    began = time.time()
    shapes = all_shapes()
    if cfg.shapes_limit is not None:
        shapes = random.Random(cfg.seed).sample(shapes, cfg.shapes_limit)
    data = ShapesDataset(size=cfg.model.image_size, people=cfg.people, shapes=shapes,
                         empty_prob=cfg.empty_prob, full_prob=cfg.full_prob, seed=cfg.seed,
                         korean_share=cfg.korean_share)
    accelerator.print(f"data: {len(shapes)} one-object pictures + {cfg.people} people "
                      f"at {cfg.model.image_size}px ({time.time() - began:.1f} s)")
    tokenizer = build_tokenizer(cfg.model, korean=cfg.korean_share > 0)
    vae, vae_info = train_vae(cfg, data, accelerator, work)
    text_encoder, unet, unet_info = train_unet(cfg, data, vae, tokenizer, accelerator, work)
    vae, decoder_info = finetune_decoder(cfg, data, vae, accelerator, work)
    summary = {"config": asdict(cfg), "vae": vae_info, "unet": unet_info, "decoder": decoder_info,
               "seconds_this_run": round(time.time() - began, 1),
               "wall_clock_minutes": round((vae_info["seconds"] + unet_info["seconds"]
                                            + decoder_info["seconds"]) / 60, 1),
               "torch_threads": torch.get_num_threads(), "device": str(accelerator.device)}
    if accelerator.is_main_process:
        pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet)
        pipe.save_pretrained(out, safe_serialization=True)
        write_record(accelerator, out, summary)
        accelerator.print(f"saved the pipeline to {out} after {summary['seconds_this_run']} s")
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train.

    Used by python -m helpers.training.train_mini_sd (no notebook calls it).
    """
    from helpers.core.config import BUNDLED_MODEL_DIR, REPO_ROOT

    command = CommandLine(__doc__.split("\n")[0], PRESETS, out=BUNDLED_MODEL_DIR,
                          work=REPO_ROOT / "runs" / "mini-sd", overrides=("vae_steps", "unet_steps"))
    args = command.parser().parse_args(argv)
    cfg = command.config(args)
    return train(cfg, args.out, args.work)


if __name__ == "__main__":
    main()
