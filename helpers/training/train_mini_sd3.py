"""Train the mini Stable Diffusion 3 on the Shapes world: an MMDiT and two CLIPs by flow matching.

Usage (the shipped model; resumable, re-run the same command to continue):

    python -m helpers.training.train_mini_sd3
    accelerate launch -m helpers.training.train_mini_sd3          # several GPUs or machines
    python -m helpers.training.train_mini_sd3 --preset tiny --out /tmp/mini3   # a smoke test

The VAE and the tokenizer are mini-sd's (``data/models/mini-sd``), frozen, so both bundled
models work on the same latents and words. The pictures are encoded once; then the two
CLIP text encoders and the SD3Transformer2DModel train together on rectified flow:
    x_s = (1 - s) x_0 + s * noise,  s ~ U(0, 1),  the model predicts v = noise - x_0,
the velocity of the straight line from the picture to the noise (SD 3's objective; SD 3 draws
s from a logit-normal, the mini model uniformly, as in the rectified-flow paper, so that few-step
sampling sees every noise level in training). Captions are mini-sd's: partial ones, 10% empty
for classifier-free guidance, half of them in Korean. Checkpoints go to ``--work`` every
``--save-every`` steps; the pipeline is written with ``save_pretrained`` (safetensors) to ``--out``.
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
    Latents,
    Stage,
    Updates,
    adamw_with_warmup,
    run_steps,
    start_run,
    tokenize,
    write_record,
)
from helpers.training.mini_sd3 import (
    MiniSD3Config,
    assemble_pipeline,
    build_text_encoder,
    build_transformer,
)


@dataclass
class TrainConfig:
    """Everything that determines a training run.

    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """

    model: MiniSD3Config = field(default_factory=MiniSD3Config)
    shapes_limit: int | None = None
    empty_prob: float = 0.1
    full_prob: float = 0.5
    korean_share: float = 0.5
    steps: int = 12000  # about 53 minutes on the quiet 2-core machine (265 ms a step)
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 200
    ema_decay: float = 0.999
    save_every: int = 500
    seed: int = 0
    threads: int = 0


PRESETS: dict[str, TrainConfig] = {
    "shipped": TrainConfig(),
    "tiny": TrainConfig(
        model=MiniSD3Config(layers=1, heads=2, head_dim=8, text_hidden=16, text_layers=2,
                            text_heads=2),
        shapes_limit=32, steps=3, batch=4, warmup=1, save_every=2,
    ),
}


def encode_captions(text_encoders, ids: torch.Tensor, t5_tokens: int, joint_dim: int):
    """Return ``(prompt_embeds, pooled)`` for token ``ids`` as StableDiffusion3Pipeline makes them without a T5.

    Each CLIP gives its penultimate hidden states and its pooled, projected output; the hidden
    states go side by side (features), padded to ``joint_dim``, followed by ``t5_tokens`` tokens
    of zeros (the missing T5); the pooled outputs go side by side.
    ``tests/test_mini_sd3.py`` checks this against the pipeline's own ``encode_prompt``.
    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    hidden, pooled = [], []
    for encoder in text_encoders:
        out = encoder(ids, output_hidden_states=True)
        hidden.append(out.hidden_states[-2])
        pooled.append(out[0])
    clip = torch.cat(hidden, dim=-1)
    clip = torch.nn.functional.pad(clip, (0, joint_dim - clip.shape[-1]))
    zeros = clip.new_zeros(clip.shape[0], t5_tokens, joint_dim)
    return torch.cat([clip, zeros], dim=-2), torch.cat(pooled, dim=-1)


def flow_loss(transformer, text_encoders, clean: torch.Tensor, ids: torch.Tensor,
              generator: torch.Generator, t5_tokens: int) -> torch.Tensor:
    """Return the rectified-flow loss of one batch: |v - (noise - x_0)|^2 at a uniform random s.

    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    noise = torch.randn(clean.shape, generator=generator).to(clean.device)
    sigma = torch.rand(len(clean), generator=generator).to(clean.device)
    s = sigma.view(-1, 1, 1, 1)
    noisy = (1 - s) * clean + s * noise
    model = getattr(transformer, "module", transformer)
    prompt, pooled = encode_captions(text_encoders, ids, t5_tokens, model.config.joint_attention_dim)
    velocity = transformer(hidden_states=noisy, timestep=sigma * 1000, encoder_hidden_states=prompt,
                           pooled_projections=pooled).sample
    return torch.nn.functional.mse_loss(velocity, noise - clean)


def train(cfg: TrainConfig, out: Path, work: Path, source: Path) -> dict:
    """Train the text encoders and the transformer on mini-sd's latents; write the pipeline to ``out``.

    Used by helpers.training.train_mini_sd3 (no notebook calls it).
    """
    from diffusers import AutoencoderKL
    from diffusers.training_utils import EMAModel
    from transformers import CLIPTokenizer

    from helpers.shapes import all_shapes
    from helpers.shapes.dataset import ShapesDataset

    accelerator = start_run(cfg.seed, cfg.threads, work)
    began = time.time()
    shapes = all_shapes()
    if cfg.shapes_limit is not None:
        shapes = random.Random(cfg.seed).sample(shapes, cfg.shapes_limit)
    vae = AutoencoderKL.from_pretrained(source / "vae", local_files_only=True).eval()
    tokenizer = CLIPTokenizer.from_pretrained(source / "tokenizer", local_files_only=True)
    side = cfg.model.latent_side * 2 ** (len(vae.config.block_out_channels) - 1)
    data = ShapesDataset(size=side, people=0, shapes=shapes, empty_prob=cfg.empty_prob,
                         full_prob=cfg.full_prob, seed=cfg.seed, korean_share=cfg.korean_share)
    with torch.no_grad():
        means, stds = (t.cpu() for t in latent_distribution(vae, data.images, batch=128))
    latents = Latents(means, stds, vae.config.scaling_factor)  # mini-sd's scaling, shift 0
    accelerator.print(f"data: {len(shapes)} one-object pictures at {side}px, latents "
                      f"{tuple(means.shape[1:])} ({time.time() - began:.1f} s)")

    stage = Stage(accelerator, work, "transformer")
    text_encoders = [build_text_encoder(cfg.model, tokenizer) for _ in range(2)]
    transformer = build_transformer(cfg.model)
    params = list(transformer.parameters()) + [p for e in text_encoders for p in e.parameters()]
    opt, sched = adamw_with_warmup(params, cfg.lr, cfg.warmup, cfg.steps)
    emas = [EMAModel(m.parameters(), decay=cfg.ema_decay) for m in (transformer, *text_encoders)]
    accelerator.register_for_checkpointing(*emas)
    transformer, enc1, enc2, opt, sched = accelerator.prepare(transformer, *text_encoders, opt, sched)
    updates = Updates(params, opt, sched, emas=list(zip(emas, (transformer, enc1, enc2), strict=True)))
    start = stage.resume()
    rng = random.Random(cfg.seed * 1000 + 1 + start)
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + 2 + start)
    smoothed: float | None = None

    def one_step(step: int) -> dict[str, float]:
        nonlocal smoothed
        idx = [rng.randrange(len(data)) for _ in range(cfg.batch)]
        ids = tokenize(tokenizer, [data.caption(i) for i in idx], accelerator.device)
        clean = latents.sample(idx, generator).to(accelerator.device)
        loss = flow_loss(transformer, (enc1, enc2), clean, ids, generator, cfg.model.max_length)
        updates.step(accelerator, loss)
        smoothed = loss.item() if smoothed is None else 0.98 * smoothed + 0.02 * loss.item()
        return {"loss": smoothed}

    run_steps(stage, start=start, steps=cfg.steps, save_every=cfg.save_every, desc="MMDiT",
              step=one_step)
    transformer, enc1, enc2 = updates.final_models(accelerator)
    done = stage.finished()
    if start >= cfg.steps and done is not None:  # nothing trained now: keep the run's record
        info = done
    else:
        info = {"steps": cfg.steps, "smoothed_loss": round(float(smoothed or 0.0), 5),
                **stage.extended(start, cfg.steps)}
        stage.finish(info)
    summary = {"config": asdict(cfg), "transformer": info, "vae_and_tokenizer": str(source),
               "seconds_this_run": round(time.time() - began, 1),
               "wall_clock_minutes": round(info["seconds"] / 60, 1),
               "torch_threads": torch.get_num_threads(), "device": str(accelerator.device)}
    if accelerator.is_main_process:
        pipe = assemble_pipeline(vae, enc1, enc2, tokenizer, transformer)
        pipe.save_pretrained(out, safe_serialization=True)
        write_record(accelerator, out, summary)
        accelerator.print(f"saved the pipeline to {out} after {summary['seconds_this_run']} s")
    return summary


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train.

    Used by python -m helpers.training.train_mini_sd3 (no notebook calls it).
    """
    from helpers.core.config import BUNDLED_MODEL_DIR, BUNDLED_SD3_DIR, REPO_ROOT

    command = CommandLine(__doc__.split("\n")[0], PRESETS, out=BUNDLED_SD3_DIR,
                          work=REPO_ROOT / "runs" / "mini-sd3", overrides=("steps",))
    args = command.parser().parse_args(argv)
    cfg = command.config(args)
    return train(cfg, args.out, args.work, BUNDLED_MODEL_DIR)


if __name__ == "__main__":
    main()
