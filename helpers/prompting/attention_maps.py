"""Cross-attention maps: where in the picture each prompt token is looked at.

Every cross-attention layer (``attn2``) of a Stable Diffusion UNet computes, for each
latent pixel, softmax weights over the prompt's tokens. ``capture_cross_attention``
installs a processor on those layers (``unet.set_attn_processor``) that does the
ordinary attention computation and also keeps those weights: averaged over heads,
summed over layers and denoising steps, and brought to one resolution. The original
processors come back when the ``with`` block ends, even after an error. The same code
works for the bundled mini-sd (8x8 and 4x4 maps) and the real SD 1.5 (64x64 to 8x8).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

CROSS_ATTENTION_SUFFIX = "attn2.processor"


class CrossAttentionCapture:
    """An attention processor that computes attention like diffusers' ``AttnProcessor`` and records it.

    Used by helpers.prompting.attention_maps (no notebook calls it).
    """

    def __init__(self, store: AttentionStore) -> None:
        self.store = store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, *args, **kwargs):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch_size, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)
        batch_size, sequence_length, _ = (
            hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape
        )
        attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        query = attn.head_to_batch_dim(query)
        key = attn.head_to_batch_dim(key)
        value = attn.head_to_batch_dim(value)

        attention_probs = attn.get_attention_scores(query, key, attention_mask)
        self.store.add(attention_probs, attn.heads)  # (batch * heads, pixels, tokens)

        hidden_states = torch.bmm(attention_probs, value)
        hidden_states = attn.batch_to_head_dim(hidden_states)
        hidden_states = attn.to_out[0](hidden_states)
        hidden_states = attn.to_out[1](hidden_states)
        if input_ndim == 4:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch_size, channel, height, width)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor


class AttentionStore:
    """Cross-attention weights collected during one or more pipeline runs.

    A run (one call of the pipeline) starts when the UNet is called at a timestep above
    the previous one (timesteps fall during sampling; PNDM repeats one), or, with a
    pipeline, once the run has had all its ``pipe._num_timesteps`` steps. Within a run, the
    weights of each map resolution are summed over layers and steps, with a count of
    the layer calls; ``maps`` brings them to one size and divides by the count, so each
    pixel's weights over the tokens still sum to 1.
    Used by helpers.prompting.attention_maps (no notebook calls it).
    """

    def __init__(self, pipe: Any | None = None) -> None:
        self.pipe = pipe
        self.runs: list[dict[tuple[int, int], list]] = []  # per run: (h, w) -> [sum, calls]
        self.steps: list[int] = []  # UNet calls per run
        self.latent_size: tuple[int, int] | None = None
        self._last_t: float | None = None
        self._guided = False

    def start_step(self, sample: torch.Tensor, timestep: Any) -> None:
        """Note the latent size and timestep of a UNet call; open a new run if t did not fall."""
        t = float(torch.as_tensor(timestep).float().flatten()[0])
        planned = getattr(self.pipe, "_num_timesteps", None)
        if (self._last_t is None or t > self._last_t
                or (isinstance(planned, int) and self.steps[-1] >= planned)):
            self.runs.append({})
            self.steps.append(0)
        self.steps[-1] += 1
        self._last_t = t
        self.latent_size = (int(sample.shape[-2]), int(sample.shape[-1]))
        self._guided = bool(getattr(self.pipe, "do_classifier_free_guidance", False))

    def _grid(self, pixels: int) -> tuple[int, int]:
        """Return the (h, w) of a layer whose attention covers ``pixels`` latent positions."""
        if self.latent_size is None:
            side = int(round(pixels ** 0.5))
            if side * side != pixels:
                raise ValueError(f"cannot tell the shape of a {pixels}-pixel map without the latent size")
            return side, side
        h, w = self.latent_size
        factor = 1
        while factor <= max(h, w):
            gh, gw = -(-h // factor), -(-w // factor)
            if gh * gw == pixels:
                return gh, gw
            factor *= 2
        raise ValueError(f"a {pixels}-pixel attention map does not fit the latent size {h}x{w}")

    def add(self, probs: torch.Tensor, heads: int) -> None:
        """Add one layer's attention weights, shape (batch * heads, pixels, tokens)."""
        if not self.runs:  # a UNet called without the pre-hook (e.g. a bare layer test)
            self.runs.append({})
            self.steps.append(0)
        batch = probs.shape[0] // heads
        maps = probs.detach().float().reshape(batch, heads, *probs.shape[1:]).mean(1)
        if self._guided and batch % 2 == 0:
            maps = maps[batch // 2:]  # the pipeline puts the unconditional half first
        h, w = self._grid(maps.shape[1])
        maps = maps.reshape(maps.shape[0], h, w, maps.shape[2]).permute(0, 3, 1, 2).cpu()
        run = self.runs[-1]
        if (h, w) not in run:
            run[h, w] = [maps, 1]
        elif run[h, w][0].shape != maps.shape:
            raise ValueError("the batch size changed inside one run")
        else:
            run[h, w][0] += maps
            run[h, w][1] += 1

    def resolutions(self) -> list[int]:
        """Return the map heights recorded (e.g. [8, 16, 32, 64] for SD 1.5 at 512 px)."""
        return sorted({h for run in self.runs for h, _ in run})

    def maps(self, size: int | tuple[int, int] | None = None,
             resolutions: list[int] | None = None) -> torch.Tensor:
        """Return the averaged maps, shape (pictures, tokens, H, W), every run's pictures in order.

        ``size`` is the output size (default: the latent size); ``resolutions`` keeps only
        layers whose map height is in the list (e.g. ``[16]`` for SD 1.5's 16x16 layers).
        """
        if not self.runs:
            raise ValueError("no cross-attention was recorded: run the pipeline inside the with block")
        if size is None:
            size = self.latent_size or max(max(run) for run in self.runs)
        size = (size, size) if isinstance(size, int) else tuple(size)
        out = []
        for run in self.runs:
            keep = [v for k, v in run.items() if resolutions is None or k[0] in resolutions]
            if not keep:
                raise ValueError(f"no layer has a map height in {resolutions}; "
                                 f"heights: {self.resolutions()}")
            total = sum(F.interpolate(s, size=size, mode="bilinear", align_corners=False)
                        for s, _ in keep)
            out.append(total / sum(calls for _, calls in keep))
        return torch.cat(out)


def cross_attention_names(unet) -> list[str]:
    """Return the names of the UNet's cross-attention processors (the ``attn2`` layers).

    Used in 07_failure_cases.
    """
    return [name for name in unet.attn_processors if name.endswith(CROSS_ATTENTION_SUFFIX)]


@contextmanager
def capture_cross_attention(model) -> Iterator[AttentionStore]:
    """Return (as a context manager) an ``AttentionStore`` filled while the ``with`` block runs.

    ``model`` is a diffusers pipeline (with classifier-free guidance only the conditional
    half is kept) or a bare ``UNet2DConditionModel`` (every sample kept). The capture
    processor goes on every ``attn2`` layer; the original processors, and any forward
    hook, are restored on exit::

        with helpers.capture_cross_attention(pipe) as store:
            image = helpers.generate(pipe, prompt)[0]
        maps = store.maps(size=64)   # (pictures, tokens, 64, 64)

    Used in 07_failure_cases.
    """
    unet = getattr(model, "unet", model)
    if not hasattr(unet, "set_attn_processor"):
        raise ValueError(f"need a diffusers pipeline or UNet2DConditionModel, got {type(model).__name__}")
    names = cross_attention_names(unet)
    if not names:
        raise ValueError("this UNet has no cross-attention (attn2) layers to capture")
    store = AttentionStore(model if model is not unet else None)
    original = dict(unet.attn_processors)
    capture = CrossAttentionCapture(store)
    unet.set_attn_processor({name: capture if name in names else proc
                             for name, proc in original.items()})

    def pre_hook(module, args, kwargs):
        sample = args[0] if args else kwargs["sample"]
        timestep = args[1] if len(args) > 1 else kwargs["timestep"]
        store.start_step(sample, timestep)

    handle = unet.register_forward_pre_hook(pre_hook, with_kwargs=True)
    try:
        yield store
    finally:
        handle.remove()
        unet.set_attn_processor(original)


def prompt_tokens(tokenizer, prompt: str) -> list[str]:
    """Return the tokens the text encoder sees for ``prompt``: start, words, end and padding.

    The list is as long as the tokenizer's ``model_max_length`` (77 for SD 1.5), the
    same length as the maps' token axis.
    Used in 07_failure_cases.
    """
    ids = tokenizer(prompt, padding="max_length", truncation=True,
                    max_length=tokenizer.model_max_length).input_ids
    return tokenizer.convert_ids_to_tokens(ids)


def word_positions(tokenizer, prompt: str) -> list[tuple[str, list[int]]]:
    """Return each word of ``prompt`` with the token positions it occupies, in order.

    A word the tokenizer splits (``hexagon`` in the mini model) has several positions;
    position 0 is the start token. Words cut off by the length limit are left out.
    Used in 07_failure_cases.
    """
    limit = tokenizer.model_max_length - 1  # the last place holds the end token
    position, result = 1, []
    for word in prompt.split():
        n = len(tokenizer.tokenize(word))
        kept = [p for p in range(position, position + n) if p < limit]
        if kept:
            result.append((word.lower(), kept))
        position += n
    return result


def word_map(maps: torch.Tensor, tokenizer, prompt: str, word: str,
             occurrence: int = 0) -> torch.Tensor:
    """Return the attention map of ``word`` in ``prompt``: the sum over its tokens, shape (H, W).

    ``maps`` is one picture's maps, shape (tokens, H, W) (``store.maps()[i]``);
    ``occurrence`` picks which one when the word appears more than once (0 = first).
    Used in 07_failure_cases.
    """
    if maps.ndim != 3:
        raise ValueError(f"maps must be one picture's (tokens, H, W), got shape {tuple(maps.shape)}")
    found = [pos for w, pos in word_positions(tokenizer, prompt) if w == word.lower()]
    if len(found) <= occurrence:
        words = sorted({w for w, _ in word_positions(tokenizer, prompt)})
        raise ValueError(f"{word!r} (occurrence {occurrence}) is not among the prompt's tokenized "
                         f"words: {', '.join(words)}")
    return maps[found[occurrence]].sum(0)


def mass_share(heat, mask) -> float:
    """Return the share of a map's total mass that lies where ``mask`` is True.

    A map spread evenly would give the mask's area share; more means it concentrates
    there.
    Used in 07_failure_cases.
    """
    heat = np.asarray(heat, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if heat.shape != mask.shape:
        raise ValueError(f"map {heat.shape} and mask {mask.shape} must have the same shape")
    total = heat.sum()
    if total <= 0:
        raise ValueError("the map has no mass to share out")
    return float(heat[mask].sum() / total)


def attention_overlay(image: Image.Image, heat, alpha: float = 0.55,
                      cmap: str = "inferno") -> Image.Image:
    """Return ``image`` with the map ``heat`` drawn over it (scaled to 0–1, coloured by ``cmap``).

    Used in 07_failure_cases.
    """
    import matplotlib

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    heat = np.asarray(heat, dtype=np.float32)
    if heat.ndim != 2:
        raise ValueError(f"heat must be a 2-D map, got shape {heat.shape}")
    low, high = float(heat.min()), float(heat.max())
    scaled = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
    size = image.size
    scaled = np.asarray(Image.fromarray(scaled).resize(size, Image.Resampling.BILINEAR))
    colours = matplotlib.colormaps[cmap](np.clip(scaled, 0, 1))[..., :3]
    base = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    mixed = (1 - alpha) * base + alpha * colours
    return Image.fromarray((mixed * 255).round().astype(np.uint8))
