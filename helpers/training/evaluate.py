"""Measure how well a text-to-image pipeline follows Shapes-world prompts.

    python -m helpers.training.evaluate                 # the bundled model's full benchmark
    python -m helpers.training.evaluate --write-card    # ... and rewrite its model card from the results

The benchmark generates pictures for random full captions (not chosen by hand),
reads them back with ``helpers.shapes.reader`` and prints adherence per attribute and
"all" over a grid of guidance scales and DDIM step counts; then the same objects captioned in
Korean, how close the pictures are to clean renders (``helpers.training.fidelity``), people,
partial prompts (variety), speed at batch 32 and peak memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from helpers.core.generate import generate
from helpers.shapes import OPTIONAL_ATTRIBUTES, parse_caption
from helpers.shapes.captions import (
    random_captions,  # 05 and 10 import it from here until they move
    random_korean_captions,
)
from helpers.shapes.people import keypoints, person_caption, person_mask, random_person
from helpers.shapes.reader import adherence, largest_component_share, read, read_person
from helpers.training.fidelity import fidelity_report
from helpers.training.mini_sd import RECOMMENDED_GUIDANCE, RECOMMENDED_STEPS
from helpers.training.model_card import format_grid, write_card


def _person_area_range(size: int, n: int = 500) -> tuple[float, float]:
    rng = random.Random(99)
    areas = [person_mask(keypoints(random_person(rng).pose), size).sum() for _ in range(n)]
    return 0.75 * float(np.min(areas)), 1.25 * float(np.max(areas))


def person_report(pipe, n: int = 64, seed: int = 7, steps: int = RECOMMENDED_STEPS,
                  guidance: float = RECOMMENDED_GUIDANCE) -> dict[str, float]:
    """Return colour/background adherence for person prompts and the share of one-person pictures.

    A picture "reads as one connected person-sized object" when the largest
    4-connected non-background region holds at least 90% of the non-background
    pixels and its area lies within the range of rendered people's areas (widened
    by 25% each way).
    Used by helpers.training.evaluate (no notebook calls it).
    """
    rng = random.Random(seed)
    prompts = [person_caption(random_person(rng)) for _ in range(n)]
    images = generate(pipe, prompts, seed=seed, steps=steps, guidance=guidance)
    scores = adherence(prompts, images)
    low, high = _person_area_range(images[0].size[0])
    ok = []
    for image in images:
        mask = read_person(image)["mask"]
        _, share = largest_component_share(mask)
        ok.append(share >= 0.9 and low <= mask.sum() <= high)
    return {"color": scores["color"], "background": scores["background"],
            "all": scores["all"], "one_person_sized_object": float(np.mean(ok)), "n": n}


def variety_report(pipe, seeds: int = 32, steps: int = RECOMMENDED_STEPS,
                   guidance: float = RECOMMENDED_GUIDANCE) -> list[dict]:
    """Return, for a few partial prompts, how many distinct values each unnamed attribute takes.

    Used by helpers.training.evaluate (no notebook calls it).
    """
    prompts = ["a circle", "a red square", "a large triangle at the left",
               "a circle on a blue background"]
    rows = []
    for prompt in prompts:
        images = generate(pipe, [prompt] * seeds, seed=500, steps=steps, guidance=guidance)
        reads = [read(image) for image in images]
        named = parse_caption(prompt)
        row = {"prompt": prompt, "seeds": seeds}
        for name in OPTIONAL_ATTRIBUTES:
            if name not in named:
                row[name] = len({r[name] for r in reads if r[name] is not None})
        row["shape_right"] = float(np.mean([r["shape"] == named["shape"] for r in reads]))
        rows.append(row)
    return rows


def speed_report(pipe, batch: int = 32, steps: int = RECOMMENDED_STEPS,
                 guidance: float = RECOMMENDED_GUIDANCE, repeats: int = 3) -> dict[str, float]:
    """Return images per second for batches of ``batch`` (best of ``repeats``, after a warm-up).

    Used by helpers.training.{evaluate, evaluate_sd3} (no notebook calls it).
    """
    prompts = random_captions(batch, seed=4321)
    generate(pipe, prompts[:2], steps=2, guidance=guidance, cache=False)
    times = []
    for r in range(repeats):
        began = time.perf_counter()
        generate(pipe, prompts, seed=r * batch, steps=steps, guidance=guidance, batch=batch,
                 cache=False)  # timed: never from the generation cache
        times.append(time.perf_counter() - began)
    return {"batch": batch, "steps": steps, "guidance": guidance,
            "images_per_second": round(batch / min(times), 2),
            "seconds_per_batch": round(min(times), 3), "torch_threads": torch.get_num_threads()}


def peak_memory_mib() -> float:
    """Return this process's peak resident memory in MiB (Linux ru_maxrss is in KiB).

    Used by helpers.training.{evaluate, evaluate_sd3} (no notebook calls it).
    """
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1)


def benchmark(pipe, n: int = 200, guidances: Sequence[float] = (1.0, 3.0, 5.0, 7.5),
              steps: Sequence[int] = (10, 20, 50), progress: bool = True) -> dict:
    """Return the full benchmark as a dict (adherence grid, people, variety, speed, memory).

    Used by helpers.training.evaluate (no notebook calls it).
    """
    from tqdm.auto import tqdm

    prompts = random_captions(n)
    grid = []
    configs = [(g, s) for s in steps for g in guidances]
    pipe.set_progress_bar_config(disable=True)
    for g, s in tqdm(configs, desc="adherence grid", disable=not progress):
        began = time.perf_counter()
        images = generate(pipe, prompts, steps=s, guidance=g)
        grid.append({"guidance": g, "steps": s, **adherence(prompts, images),
                     "seconds": round(time.perf_counter() - began, 1)})
    english = {(row["steps"], row["guidance"]): row for row in grid}
    languages = []
    for s in tqdm(steps, desc="Korean captions", disable=not progress):
        images = generate(pipe, random_korean_captions(n), steps=s, guidance=RECOMMENDED_GUIDANCE)
        korean = adherence(random_korean_captions(n), images)
        languages.append({"steps": s, "guidance": RECOMMENDED_GUIDANCE,
                          "english_all": english[(s, RECOMMENDED_GUIDANCE)]["all"]
                          if (s, RECOMMENDED_GUIDANCE) in english else None,
                          "korean": korean})
    return {
        "captions": n,
        "grid": grid,
        "languages": languages,
        "fidelity": fidelity_report(pipe),
        "people": person_report(pipe),
        "variety": variety_report(pipe),
        "speed": speed_report(pipe),
        "peak_memory_mib": peak_memory_mib(),
        "torch": torch.__version__,
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark on the bundled model (or ``--model PATH``) and print its tables.

    Used by python -m helpers.training.evaluate (no notebook calls it).
    """
    from diffusers import StableDiffusionPipeline

    from helpers.core.config import BUNDLED_MODEL_DIR

    parser = argparse.ArgumentParser(description="Shapes-world adherence benchmark")
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("-n", type=int, default=200, help="number of random captions")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--write-card", action="store_true",
                        help="rewrite the model's README.md from these results")
    args = parser.parse_args(argv)
    pipe = StableDiffusionPipeline.from_pretrained(args.model, local_files_only=True)
    began = time.time()
    results = benchmark(pipe, n=args.n)
    results["benchmark_seconds"] = round(time.time() - began, 1)
    print(format_grid(results["grid"]))
    print(json.dumps({k: v for k, v in results.items() if k != "grid"}, indent=2))
    out = args.out or args.model / "evaluation.json"
    out.write_text(json.dumps(results, indent=2))
    if args.write_card:
        write_card(args.model)
    return results


if __name__ == "__main__":
    main()
