"""Teach the bundled mini Stable Diffusion hands with countable fingers, with a LoRA (for 07_failure_cases).

Usage (23 minutes on the 2-core CPU shared with other jobs, 1 torch thread: see the card; not
resumable):

    python -m helpers.training.train_hands_lora                  # writes data/models/hands-lora/
    python -m helpers.training.train_hands_lora --steps 20 --per-count 4 --out /tmp/hands  # smoke test
    python -m helpers.training.train_hands_lora --measure-only   # measure the shipped adapter again

The recipe is 09_editing_and_personalization's LoRA, unchanged (``helpers.editing.personalize``):
a rank-``--rank`` LoRA on the UNet's attention layers, every other weight frozen, the denoising
loss, half of every batch ordinary Shapes pictures with their captions (prior preservation).
The new pictures are the 280 hands of ``helpers.shapes.hands`` (1-5 fingers, 8 colours, 7
backgrounds), captioned ``a red hand with three fingers on a blue background`` (the background
left out half the time). No word is added to the tokenizer: the mini model's tokenizer spells
``hand``, ``three``, ``fingers`` in letters, and the LoRA has to learn what those pieces mean.

Then it measures: ``--per-count`` seeded pictures for each finger count, prompts drawn at random
from the 280 captions, read back by ``helpers.shapes.hands.read_hand`` (is there a palm, is the
colour right, how many fingers), with the LoRA and, for comparison, without it. It writes the
adapter (safetensors), ``training.json`` (settings, seconds, losses, scores) and the model card.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from helpers.core.config import REPO_ROOT
from helpers.editing.personalize import ConceptData
from helpers.shapes.hands import (
    FINGER_COUNTS,
    HAND,
    Hand,
    all_hands,
    hand_caption,
    read_hand,
    render_hand,
)

OUT = REPO_ROOT / "data" / "models" / "hands-lora"
ADAPTER = "hands"
STEPS, RANK, LR, BATCH, PER_COUNT, PRIOR_SHARE = 1500, 8, 1e-3, 16, 40, 0.5
SAMPLE_STEPS, SAMPLE_GUIDANCE = 20, 5.0


class HandData(ConceptData):
    """Pictures of hands as VAE latents with their captions, plus ordinary Shapes pictures.

    09's ``ConceptData`` with hands for its concept: each hand drawn by ``render_hand`` and
    captioned ``a red hand with three fingers`` with the background named half the time; a share
    ``prior_share`` of every batch are ordinary Shapes pictures with their own captions.
    Used by helpers.training.train_hands_lora (no notebook calls it).
    """

    def __init__(self, pipe, items: Sequence[Hand], *, prior_share: float = PRIOR_SHARE,
                 prior_pictures: int = 600, seed: int = 0) -> None:
        super().__init__(pipe, items, HAND, prior_share=prior_share, prior_pictures=prior_pictures,
                         seed=seed)

    def render(self, item: Hand, side: int):
        """Return the picture of hand ``item`` at ``side`` pixels."""
        return render_hand(item, side)

    def caption(self, item: Hand) -> str:
        """Return the caption of hand ``item``, its background named half the time."""
        return hand_caption(item, background=self.rng.random() < 0.5)


def evaluation_hands(per_count: int, seed: int = 1) -> list[Hand]:
    """Return ``per_count`` random hands for each finger count (seeded), counts in turn.

    Used by helpers.training.train_hands_lora (no notebook calls it).
    """
    rng = random.Random(seed)
    pool = all_hands()
    return [rng.choice([h for h in pool if h.fingers == n]) for _ in range(per_count) for n in FINGER_COUNTS]


def count_table(items: Sequence[Hand], images) -> dict[str, dict[str, float]]:
    """Return, per asked finger count, the shares with a palm, colour right, count right, and the counts read.

    Keys are the counts as strings ("1".."5") and "all"; each row holds ``hand``, ``colour``,
    ``fingers`` (exact count, among all pictures), ``mean counted`` (over pictures with a palm)
    and ``counted`` ({count read: how many pictures}).
    Used by helpers.training.train_hands_lora (no notebook calls it).
    """
    reads = [read_hand(image) for image in images]
    table: dict[str, dict] = {}
    for key in [str(n) for n in FINGER_COUNTS] + ["all"]:
        pairs = [(it, r) for it, r in zip(items, reads, strict=True) if key == "all" or it.fingers == int(key)]
        with_palm = [r["fingers"] for _, r in pairs if r["hand"]]
        counted: dict[str, int] = {}
        for n in with_palm:
            counted[str(n)] = counted.get(str(n), 0) + 1
        table[key] = {
            "pictures": len(pairs),
            "hand": float(np.mean([r["hand"] for _, r in pairs])),
            "colour": float(np.mean([r["color"] == it.color for it, r in pairs])),
            "fingers": float(np.mean([r["hand"] and r["fingers"] == it.fingers for it, r in pairs])),
            "mean counted": float(np.mean(with_palm)) if with_palm else float("nan"),
            "counted": dict(sorted(counted.items(), key=lambda kv: int(kv[0]))),
        }
    return table


def sample(pipe, items: Sequence[Hand], seed: int = 0):
    """Return the pictures ``pipe`` draws for the captions of ``items`` (seeds seed, seed+1, ...).

    Used by helpers.training.train_hands_lora (no notebook calls it).
    """
    from helpers.core.generate import generate

    with warnings.catch_warnings():  # the base model never learnt "hand": that is the point here
        warnings.simplefilter("ignore")
        return generate(pipe, [hand_caption(it) for it in items], steps=SAMPLE_STEPS,
                        guidance=SAMPLE_GUIDANCE, seed=seed, cache=False)


def main(argv: Sequence[str] | None = None) -> dict:
    """Train, measure and write the hands LoRA; return the record written to training.json.

    Used by python -m helpers.training.train_hands_lora (no notebook calls it).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--rank", type=int, default=RANK)
    parser.add_argument("--lr", type=float, default=LR)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--per-count", type=int, default=PER_COUNT)
    parser.add_argument("--prior-pictures", type=int, default=600)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the adapter already in --out again and rewrite its card")
    args = parser.parse_args(argv)

    from helpers.core.checkpoints import weights_digest
    from helpers.core.device import seed_everything
    from helpers.core.loading import load_pipeline
    from helpers.editing import personalize

    start = time.perf_counter()
    seed_everything(args.seed)
    base = load_pipeline("text2img", model="mini-sd", dtype=torch.float32)
    base.set_progress_bar_config(disable=True)
    digest = weights_digest({"unet": base.unet, "text_encoder": base.text_encoder, "vae": base.vae})
    pipe = personalize.personal_copy(base)
    if args.measure_only:  # the adapter in --out, measured again (e.g. after the reader changed)
        result = json.loads((args.out / "training.json").read_text())
        if result["base_digest"] != digest:
            raise SystemExit(f"{args.out} was trained on other mini-sd weights; train it again.")
        pipe.unet.load_lora_adapter(str(args.out), weight_name=result["weights"], prefix="unet",
                                    adapter_name=ADAPTER)
        result["measured_again"] = ("after training, by python -m helpers.training.train_hands_lora "
                                    "--measure-only")
    else:
        params = personalize.add_lora(pipe, rank=args.rank, adapter_name=ADAPTER)
        data = HandData(pipe, all_hands(), prior_pictures=args.prior_pictures, seed=args.seed)
        record = personalize.train_concept(pipe, data, params, steps=args.steps, lr=args.lr,
                                           batch=args.batch, seed=args.seed, desc="hands LoRA")
        weights = personalize.save_lora(pipe, args.out, adapter_name=ADAPTER)
        result = {
            "command": "python -m helpers.training.train_hands_lora"
                       + ("" if argv is None or not list(argv) else " " + " ".join(argv)),
            "config": {"steps": args.steps, "rank": args.rank, "lr": args.lr, "batch": args.batch,
                       "prior_share": PRIOR_SHARE, "prior_pictures": args.prior_pictures,
                       "hands": len(data), "seed": args.seed,
                       "targets": list(personalize.LORA_TARGETS)},
            "trainable_numbers": personalize.count(params),
            "base": "mini-sd", "base_digest": digest, "train_seconds": record["seconds"],
            "torch": torch.__version__, "threads": torch.get_num_threads(),
            "device": record["device"], "losses": [round(x, 5) for x in record["losses"]],
            "weights": weights.name, "weights_kib": round(weights.stat().st_size / 1024),
        }
    pipe.unet.eval()

    measure_start = time.perf_counter()
    items = evaluation_hands(args.per_count)
    scores = {"with LoRA": count_table(items, sample(pipe, items)),
              "without LoRA": count_table(items, sample(base, items))}
    result["measure_seconds"] = time.perf_counter() - measure_start
    if not args.measure_only:
        result["total_seconds"] = time.perf_counter() - start
    result["sampling"] = {"steps": SAMPLE_STEPS, "guidance": SAMPLE_GUIDANCE,
                          "per_count": args.per_count,
                          "seeds": f"0..{len(items) - 1}, prompts drawn with random.Random(1)"}
    result["scores"] = scores
    (args.out / "training.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / "README.md").write_text(model_card(result))
    print(json.dumps({k: result[k] for k in ("train_seconds", "measure_seconds", "total_seconds")}))
    for name, table in scores.items():
        for key, row in table.items():
            print(name, key, {k: v for k, v in row.items()})
    return result


def model_card(result: dict) -> str:
    """Return the model card (README.md) of the hands LoRA from its training record.

    Used by helpers.training.train_hands_lora (no notebook calls it).
    """
    c = result["config"]
    lines = [
        "---", "license: mit", "library_name: diffusers", "base_model: mini-sd (data/models/mini-sd)",
        "tags: [lora, shapes-world, education, failure-cases]", "---", "",
        "# hands-lora: hands with countable fingers for the bundled mini Stable Diffusion", "",
        "A LoRA adapter that teaches `data/models/mini-sd` the Shapes-world hands of",
        "`helpers/shapes/hands.py`: a palm with 1 to 5 upright fingers, in the palette's colours, on",
        "a background of another colour. It is the offline, measured counterpart of the real Stable",
        "Diffusion's hands failure in 07_failure_cases: `helpers.shapes.hands.read_hand` counts the",
        "fingers of every picture, so \"does the model draw the number of fingers it was asked for?\"",
        "has a number.", "",
        "```python",
        "pipe = helpers.load_pipeline(\"text2img\", model=\"mini-sd\")",
        "pipe.unet.load_lora_adapter(\"data/models/hands-lora\", prefix=\"unet\", adapter_name=\"hands\",",
        "                            weight_name=\"pytorch_lora_weights.safetensors\")",
        "image = helpers.generate(pipe, \"a red hand with three fingers on a blue background\",",
        "                         steps=20, guidance=5)[0]",
        "```", "",
        "## How it was made", "",
        f"    {result['command']}", "",
        "- Recipe: 09_editing_and_personalization's LoRA (`helpers.editing.personalize`: `add_lora`,",
        f"  `train_concept`, `save_lora`), rank {c['rank']} on the UNet's attention layers",
        f"  ({', '.join(c['targets'])}), {result['trainable_numbers']:,} trainable numbers; everything",
        f"  else frozen. {c['steps']} steps at batch {c['batch']}, AdamW lr {c['lr']:g}, seed {c['seed']}.",
        f"- Data: all {c['hands']} hands (5 finger counts x 8 colours x 7 backgrounds) at 64 px, captioned",
        "  `a {colour} hand with {number} fingers on a {background} background` (the background left out",
        f"  half the time); {c['prior_share']:.0%} of every batch are ordinary Shapes pictures (from",
        f"  {c['prior_pictures']}) with their own captions (prior preservation). No new word: the mini",
        "  tokenizer spells `hand`, `three`, `fingers` in letters (`h | and`, `th | re | e`,",
        "  `f | i | n | g | e | r | s`) and the text encoder stays frozen.",
        f"- Time: {result['train_seconds']:.0f} s of training ({result['train_seconds'] / c['steps']:.2f} s"
        f" per step) and {result['measure_seconds']:.0f} s of measuring, on {result['device']}",
        f"  (torch {result['torch']}, torch threads: {result['threads']}). The machine (2 cores) was shared",
        "  with other work the whole time, so this is an upper bound, and it is over the ~5 minutes",
        "  planned for this script; the same recipe at rank 4 took 0.13 s per step in",
        "  09_editing_and_personalization (800 steps in 106 s, 2 threads), which is not a measurement",
        "  of this adapter.",
        f"- Base weights digest (helpers.core.checkpoints.weights_digest): `{result['base_digest']}`.",
        f"- File: `{result['weights']}`, {result['weights_kib']} KiB.", "",
        *([f"Measured again: {result['measured_again']}.", ""] if "measured_again" in result else []),
        "## Evaluation", "",
        f"{result['sampling']['per_count']} pictures per finger count (1-5), captions drawn at random from the",
        f"280 training captions (`random.Random(1)`), seeds {result['sampling']['seeds'].split(',')[0]}, "
        f"{result['sampling']['steps']} DDIM steps, guidance {result['sampling']['guidance']:g}; read back",
        "by `helpers.shapes.hands.read_hand`. *hand*: a palm was found; *colour*: the hand's colour is",
        "right; *fingers*: a palm and exactly the asked number of fingers; *mean counted*: over the",
        "pictures with a palm. Captions seen in training are the easiest test there is: a miss is the",
        "model not drawing the count, not a caption it never saw.", "",
    ]
    lora, plain = result["scores"]["with LoRA"], result["scores"]["without LoRA"]
    means = [lora[str(n)]["mean counted"] for n in FINGER_COUNTS]
    lines += [
        f"**What it shows.** The adapter taught the model hands: a palm in {lora['all']['hand']:.2f} of the",
        f"pictures ({plain['all']['hand']:.2f} without it). It did not teach it counts: the exact finger count",
        f"is right in {lora['all']['fingers']:.2f} of the pictures, where drawing one count at random would",
        f"give {1 / len(FINGER_COUNTS):.2f}, and the mean count read is {min(means):.1f}-{max(means):.1f}",
        "whatever count was asked: the model draws an average hand. The hand's colour is right in",
        f"{lora['all']['colour']:.2f} of the pictures ({plain['all']['colour']:.2f} of the objects without the",
        "adapter).", "",
    ]
    for name, table in result["scores"].items():
        lines += [f"### {name}", "", "| fingers asked | hand | colour | fingers right | mean counted | counts read |",
                  "|---|---|---|---|---|---|"]
        for key, row in table.items():
            read = ", ".join(f"{k}: {v}" for k, v in row["counted"].items()) or "-"
            mean = "-" if math.isnan(row["mean counted"]) else f"{row['mean counted']:.2f}"
            lines.append(f"| {key} | {row['hand']:.2f} | {row['colour']:.2f} | {row['fingers']:.2f} | "
                         f"{mean} | {read} |")
        lines.append("")
    lines += ["## Limits", "",
              "It knows these hands only: upright fingers of one width, centred, on a plain background,",
              "English captions. It is a measuring instrument for a lesson, not a hand model.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
