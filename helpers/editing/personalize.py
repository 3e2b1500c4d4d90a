"""Teaching a pipeline a new concept from a few pictures: textual inversion and LoRA.

Both minimise the same denoising loss as the original training, on pictures of the new
concept, and differ only in what they let change:

- textual inversion (텍스트 역전): one new row of the text encoder's embedding table, the
  vector of a new word such as ``<hexagon>`` (64 numbers in the mini model);
- LoRA (저랭크 적응): small low-rank matrices added to the UNet's attention layers (``peft``).

``ConceptData`` holds the pictures as VAE latents and writes their captions; ``denoising_loss``
is one training step's loss; ``train_concept`` is the loop (accelerate, a tqdm progress
bar). 09_editing_and_personalization writes the textual-inversion loop out by hand and uses
``train_concept`` for LoRA and for the real-SD recipe.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from helpers.core.latents import latent_distribution, picture_side
from helpers.shapes import (
    COLORS,
    OPTIONAL_ATTRIBUTES,
    POSITIONS,
    Shape,
    all_shapes,
    caption,
    render,
)
from helpers.shapes.hexagons import HEXAGON, Hexagon, hexagon_caption, read_shape, render_hexagon
from helpers.shapes.reader import read

#: Colours and positions of the training hexagons; purple and orange, right and bottom are
#: held out so that the test prompts can ask for what the pictures never showed.
TRAIN_COLORS: tuple[str, ...] = ("red", "blue", "yellow", "white", "green", "black")
TRAIN_POSITIONS: tuple[str, ...] = ("center", "left", "top")
LORA_TARGETS: tuple[str, ...] = ("to_q", "to_k", "to_v", "to_out.0")


def hexagon_training_set(n: int = 48, seed: int = 0, colors: Sequence[str] = TRAIN_COLORS,
                         positions: Sequence[str] = TRAIN_POSITIONS) -> list[Hexagon]:
    """Return ``n`` different large hexagons: colours in turn, random positions and backgrounds.

    Used in 09_editing_and_personalization.
    """
    possible = len(colors) * len(positions) * (len(COLORS) - 1)
    if not 1 <= n <= possible:
        raise ValueError(f"n must be between 1 and {possible} for these colours and positions, got {n!r}.")
    rng = random.Random(seed)
    items: list[Hexagon] = []
    while len(items) < n:
        color = colors[len(items) % len(colors)]
        item = Hexagon("large", color, rng.choice(list(positions)),
                       rng.choice([c for c in COLORS if c != color]))
        if item not in items:
            items.append(item)
    return items


def unseen_hexagons(n: int, training: Sequence[Hexagon], seed: int = 1) -> list[Hexagon]:
    """Return ``n`` random large hexagons whose (colour, position, background) is not in ``training``.

    Used in 09_editing_and_personalization.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}.")
    rng = random.Random(seed)
    seen, items = set(training), []
    while len(items) < n:
        color = rng.choice(COLORS)
        item = Hexagon("large", color, rng.choice(list(POSITIONS)),
                       rng.choice([c for c in COLORS if c != color]))
        if item not in seen:
            items.append(item)
    return items


def encode(pipe, images, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the VAE posterior means and standard deviations of PIL ``images`` (float32, on the CPU).

    Used by helpers.editing.personalize (no notebook calls it).
    """
    means, stds = latent_distribution(pipe.vae, pipe.image_processor.preprocess(images), batch)
    return means.float().cpu(), stds.float().cpu()


def _render(item: Hexagon | Shape, side: int):
    """Return the picture of a hexagon or of an ordinary Shapes object at ``side`` pixels."""
    picture = render_hexagon(item, max(side, 32)) if isinstance(item, Hexagon) else render(item, max(side, 32))
    return picture.resize((side, side)) if picture.size != (side, side) else picture


class ConceptData:
    """Pictures of a new concept as VAE latents, with captions that name it ``word``.

    ``items`` are ``Hexagon``s or ordinary ``Shape``s; either way the caption puts ``word``
    where the shape's name goes (``a large red <hexagon> at the left on a blue background``).

    ``prior_share`` of every batch (0 to 1) are ordinary Shapes pictures with their own
    captions ("prior preservation", as in DreamBooth), so that training on the new pictures
    does not make the model forget the old ones; ``prior_pictures`` of them are encoded.
    Used in 09_editing_and_personalization.
    """

    def __init__(self, pipe, items: Sequence[Hexagon | Shape], word: str, *, prior_share: float = 0.0,
                 prior_pictures: int = 400, seed: int = 0) -> None:
        if not items:
            raise ValueError("give at least one picture of the new concept.")
        if not 0.0 <= prior_share < 1.0:
            raise ValueError(f"prior_share must be in [0, 1), got {prior_share!r}.")
        side = picture_side(pipe)
        self.items, self.word, self.prior_share = list(items), word, prior_share
        self.pictures = [self.render(item, side) for item in self.items]
        self.means, self.stds = encode(pipe, self.pictures)
        self.scaling = float(pipe.vae.config.scaling_factor)
        self.rng = random.Random(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.prior: list[Shape] = []
        if prior_share > 0:
            self.prior = random.Random(seed + 1).sample(all_shapes(), prior_pictures)
            self.prior_means, self.prior_stds = encode(pipe, [_render(item, side) for item in self.prior])

    def __len__(self) -> int:
        return len(self.items)

    def render(self, item: Hexagon | Shape, side: int):
        """Return the picture of concept item ``item`` at ``side`` pixels (a subclass may draw others)."""
        return _render(item, side)

    def caption(self, item: Hexagon | Shape) -> str:
        """Return a random caption of concept picture ``item``: full half the time, else partial."""
        if self.rng.random() < 0.5:
            return hexagon_caption(item, self.word)
        keep = tuple(name for name in OPTIONAL_ATTRIBUTES if self.rng.random() < 0.5)
        return hexagon_caption(item, self.word, keep)

    def _prior_caption(self, item: Shape) -> str:
        if self.rng.random() < 0.5:
            return caption(item)
        return caption(item, tuple(name for name in OPTIONAL_ATTRIBUTES if self.rng.random() < 0.5))

    def batch(self, size: int) -> tuple[torch.Tensor, list[str]]:
        """Return ``size`` scaled latents (a fresh VAE sample each) and their captions."""
        if size < 1:
            raise ValueError(f"batch size must be at least 1, got {size!r}.")
        n_prior = int(round(size * self.prior_share)) if self.prior else 0
        own = [self.rng.randrange(len(self.items)) for _ in range(size - n_prior)]
        old = [self.rng.randrange(len(self.prior)) for _ in range(n_prior)]
        captions = [self.caption(self.items[i]) for i in own]
        captions += [self._prior_caption(self.prior[i]) for i in old]
        means, stds = self.means[own], self.stds[own]
        if old:
            means = torch.cat([means, self.prior_means[old]])
            stds = torch.cat([stds, self.prior_stds[old]])
        latents = means + stds * torch.randn(means.shape, generator=self.generator)
        return latents * self.scaling, captions


def denoising_loss(pipe, latents: torch.Tensor, captions: list[str],
                   generator: torch.Generator) -> torch.Tensor:
    """Return the training loss of one batch: how well the UNet predicts the noise added to it.

    Draw a random step t and noise for each latent, noise the latents to step t with the
    pipeline's schedule, and compare the UNet's noise prediction (given the captions'
    text embeddings) with the true noise: mean squared error.
    Used in 09_editing_and_personalization.
    """
    from diffusers import DDPMScheduler

    schedule = DDPMScheduler.from_config(pipe.scheduler.config)
    device, dtype = pipe.device, pipe.unet.dtype
    ids = pipe.tokenizer(captions, padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt").input_ids.to(device)
    noise = torch.randn(latents.shape, generator=generator)
    t = torch.randint(0, schedule.config.num_train_timesteps, (len(latents),), generator=generator)
    noisy = schedule.add_noise(latents, noise, t)
    text = pipe.text_encoder(ids)[0]
    prediction = pipe.unet(noisy.to(device, dtype), t.to(device), encoder_hidden_states=text).sample
    return torch.nn.functional.mse_loss(prediction.float(), noise.to(device))


def add_token(pipe, token: str, init_word: str | None = None, seed: int = 0) -> int:
    """Return the id of ``token``, a new word added to the tokenizer and the embedding table.

    Its embedding starts as ``init_word``'s (which must be one token) or, without one, as a
    seeded random vector of the table's typical size.
    Used in 09_editing_and_personalization.
    """
    tokenizer = pipe.tokenizer
    if token in tokenizer.get_vocab():
        raise ValueError(f"{token!r} is already in the tokenizer; pick a new word such as '<my-concept>'.")
    source = None
    if init_word is not None:
        source = tokenizer(init_word, add_special_tokens=False).input_ids
        if len(source) != 1:
            raise ValueError(f"init_word {init_word!r} is {len(source)} tokens; it must be exactly one.")
    tokenizer.add_tokens([token])
    pipe.text_encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    token_id = tokenizer.convert_tokens_to_ids(token)
    table = pipe.text_encoder.get_input_embeddings().weight
    with torch.no_grad():
        if source is not None:
            table[token_id] = table[source[0]]
        else:
            generator = torch.Generator().manual_seed(seed)
            vector = torch.randn(table.shape[1], generator=generator)
            scale = table[:token_id].float().norm(dim=1).mean() / vector.norm()
            table[token_id] = (vector * scale).to(table.device, table.dtype)
    return token_id


def add_lora(pipe, rank: int = 4, adapter_name: str = "default",
             targets: Sequence[str] = LORA_TARGETS) -> list[torch.nn.Parameter]:
    """Return the trainable parameters of a new LoRA adapter on the UNet's attention layers.

    Every other weight is frozen. Each targeted linear layer W gets W + B·A (scaled by
    alpha/rank, here 1) with A of shape (rank, in) and B of shape (out, rank), B starting at 0
    so the adapter starts as a no-op.
    Used in 09_editing_and_personalization.
    """
    from peft import LoraConfig

    if rank < 1:
        raise ValueError(f"rank must be at least 1, got {rank!r}.")
    for part in (pipe.unet, pipe.text_encoder, pipe.vae):
        part.requires_grad_(False)
    config = LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian",
                        target_modules=list(targets))
    pipe.unet.add_adapter(config, adapter_name=adapter_name)
    params = [p for p in pipe.unet.parameters() if p.requires_grad]
    for p in params:  # adapters train in float32 even on a float16 model
        p.data = p.data.float()
    return params


def lora_weights(pipe) -> torch.nn.ParameterDict:
    """Return the UNet's LoRA matrices (the ``lora_`` parameters) as one module, to save or load.

    The dictionary holds the very parameters of the UNet (keys are their names with ``/`` for
    ``.``), so loading a checkpoint into it puts the weights into the adapter, and its state dict
    is the adapter alone (a few hundred KB, not the whole UNet).
    Used in 09_editing_and_personalization.
    """
    found = {name.replace(".", "/"): param for name, param in pipe.unet.named_parameters()
             if "lora_" in name}
    if not found:
        raise ValueError("the UNet has no LoRA adapter; add one with personalize.add_lora(pipe).")
    return torch.nn.ParameterDict(found)


def count(params) -> int:
    """Return the number of numbers in ``params`` (tensors or parameters).

    Used in 09_editing_and_personalization.
    """
    return int(sum(p.numel() for p in params))


def make_accelerator():
    """Return an ``accelerate.Accelerator``: float16 mixed precision on a CUDA GPU, plain float32 elsewhere.

    Every training loop in a session must ask for the same precision (accelerate keeps one
    state per process), so they all get their accelerator here.
    Used in 09_editing_and_personalization.
    """
    from accelerate import Accelerator

    return Accelerator(mixed_precision="fp16" if torch.cuda.is_available() else "no")


def train_concept(pipe, data: ConceptData, params: list[torch.nn.Parameter], *, steps: int,
                  lr: float, batch: int = 16, seed: int = 0, desc: str = "training",
                  after_step: Callable[[], None] | None = None) -> dict:
    """Return a training record after ``steps`` optimiser steps on ``params`` (the rest frozen).

    The loop: a batch from ``data``, ``denoising_loss``, backward, AdamW step, then
    ``after_step()`` (textual inversion uses it to put back every embedding row but the new
    one). accelerate places the work and, on a GPU, runs it in float16 mixed precision; a
    tqdm bar shows the smoothed loss. The record holds every step's loss, the seconds and
    the seconds per step.
    Used in 09_editing_and_personalization.
    """
    from tqdm.auto import tqdm

    if steps < 0:
        raise ValueError(f"steps must be 0 or more, got {steps!r}.")
    if not params:
        raise ValueError("nothing to train: params is empty.")
    half = sorted({str(p.dtype).replace("torch.", "") for p in params if p.dtype != torch.float32})
    if half:
        raise ValueError(
            f"the parameters to train are {', '.join(half)}; train them in float32 (mixed precision "
            "keeps float32 weights and computes in float16): load the model with "
            "helpers.load_pipeline(..., dtype=torch.float32) or cast them, as add_lora does."
        )
    accelerator = make_accelerator()
    optimizer = accelerator.prepare(torch.optim.AdamW(params, lr=lr, weight_decay=0.0))
    generator = torch.Generator().manual_seed(seed)
    for p in params:
        p.requires_grad_(True)
    losses: list[float] = []
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=desc)
    for _ in bar:
        latents, captions = data.batch(batch)
        with accelerator.autocast():
            loss = denoising_loss(pipe, latents, captions, generator)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        if after_step is not None:
            after_step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
    seconds = time.perf_counter() - start
    return {"steps": steps, "losses": losses, "seconds": seconds,
            "seconds_per_step": seconds / steps if steps else 0.0,
            "device": str(accelerator.device)}


def personal_copy(pipe):
    """Return a deep copy of ``pipe`` to teach, leaving the original (and the loader's cache) untouched.

    Used in 09_editing_and_personalization.
    """
    return copy.deepcopy(pipe)


def save_lora(pipe, folder: str | Path, adapter_name: str = "default") -> Path:
    """Return the path of the safetensors file holding the UNet's LoRA adapter ``adapter_name``.

    Written in the diffusers format that ``pipe.load_lora_weights(folder)`` reads.
    Used in 09_editing_and_personalization.
    """
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict

    folder = Path(folder)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(pipe.unet, adapter_name=adapter_name))
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)
    return folder / "pytorch_lora_weights.safetensors"


def save_embedding(pipe, token: str, path: str | Path) -> Path:
    """Return ``path`` after writing ``token``'s learned embedding there as safetensors.

    The file maps the token to its vector, the format ``pipe.load_textual_inversion`` reads.
    Used in 09_editing_and_personalization.
    """
    from safetensors.torch import save_file

    if token not in pipe.tokenizer.get_vocab():
        raise ValueError(f"{token!r} is not in the tokenizer; add it with add_token first.")
    token_id = pipe.tokenizer.convert_tokens_to_ids(token)
    vector = pipe.text_encoder.get_input_embeddings().weight[token_id].detach().float().cpu()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({token: vector.clone()}, str(path))
    return path


def hexagon_scores(items: Sequence[Hexagon], images) -> dict[str, float]:
    """Return the share of pictures read as hexagons, and of colour, position and background right.

    ``all``: the share with a hexagon and every one of those right.
    Used in 09_editing_and_personalization.
    """
    if len(items) != len(images):
        raise ValueError(f"{len(items)} prompts but {len(images)} pictures.")
    rows = []
    for item, image in zip(items, images, strict=True):
        got = read(image)
        row = {"hexagon": read_shape(image) == HEXAGON}
        row.update({name: got[name] == getattr(item, name) for name in ("color", "position", "background")})
        row["all"] = all(row.values())
        rows.append(row)
    return {name: float(np.mean([row[name] for row in rows])) for name in rows[0]}
