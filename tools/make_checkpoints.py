#!/usr/bin/env python3
"""Make the notebooks' checkpoints: run them from scratch in full mode so their own cells save them.

    python tools/make_checkpoints.py                 # 01, 03, 09 and 11 (make checkpoints)
    python tools/make_checkpoints.py 03              # only 03's DDPM
    python tools/make_checkpoints.py --card          # only rewrite data/checkpoints/README.md

Each notebook runs top to bottom in a fresh kernel (tools/run_notebooks.py's ``execute``) in full
mode with ``WORKBOOK_FROM_SCRATCH=1 WORKBOOK_SAVE_CHECKPOINTS=1`` and the generation cache off: its
training cells train the full length and ``helpers.core.checkpoints.use_checkpoint`` saves what they
trained, with the seconds the cell measured and the machine it ran on. One more cell, run after the
notebook's own in the same kernel, reads the scores the notebook measured with those weights
(``SCORES`` below names them); they go into each checkpoint's info, and the card
``data/checkpoints/README.md`` is written from the checkpoints' infos. The executed notebooks are kept
in build/checkpoints/ as the record of the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "tools"))

from run_notebooks import execute, notebooks  # noqa: E402

from helpers.core.checkpoints import checkpoint_path, read_info, update_info  # noqa: E402
from helpers.core.config import CHECKPOINT_DIR  # noqa: E402

COMMAND = "make checkpoints"
MARK = "CHECKPOINT-SCORES "
#: notebook -> checkpoint -> {what the card calls a score: the expression that reads it in the kernel}
SCORES: dict[str, dict[str, dict[str, str]]] = {
    "01_gan_vae_recap": {
        "01_gan": {
            "object colours of 256 samples": '"{}/8".format(coverage["GAN"][0])',
            "background colours": '"{}/8".format(coverage["GAN"][1])',
            "(object, background) pairs": '"{}/56 (real: {}/56)".format(coverage["GAN"][2], '
                                          'coverage["real"][2])',
            "single-shape share": '"{:.2f}".format(single["GAN"])',
        },
        "01_ae": {
            "reconstruction MSE (8 pictures)": '"{:.4f}".format(mse_ae)',
            "latent std over the 1,680 pictures": '"{:.2f}".format(ae_codes.std())',
        },
        "01_vae": {
            "reconstruction MSE (8 pictures)": '"{:.4f}".format(mse_vae)',
            "KL at the last step (nats)": '"{:.1f}".format(vae_loss["KL"][-1])',
            "latent std of mu over the 1,680 pictures": '"{:.2f}".format(vae_mu.std())',
        },
    },
    "03_reverse_diffusion": {
        "03_ddpm": {
            "loss, mean of the last 20 steps": '"{:.4f}".format(np.mean(losses[-20:]))',
            **{f"{name}: single shape / clean": f'"{{:.2f}} / {{:.2f}} of {{}}".format('
                                                 f'results["{name}"]["single"], '
                                                 f'results["{name}"]["clean"], n_samples)'
               for name in ("DDPM, 1000 steps", "DDPM, 100 steps", "DDIM, 50 steps",
                            "DDIM, 20 steps")},
            "guidance adherence at w = 0, 1, 3, 7.5": '", ".join("{:.2f}".format('
                                                      'guided[w]["adherence"]) for w in scales)',
        },
    },
    "11_flow_matching": {
        "11_flow": {
            "loss (velocity MSE), mean of the last 20 steps": '"{:.4f}".format(np.mean(flow_losses[-20:]))',
            **{f"Euler, {n} steps: single shape / shape = label": f'"{{:.2f}} / {{:.2f}} of {{}}".format('
                                                                 f'quality["flow model + Euler", {n}]["single"], '
                                                                 f'quality["flow model + Euler", {n}]["label"], n_compare)'
               for n in (1, 4, 32)},
            "path straightness over 32 steps": '"{:.3f}".format(straight["flow model + Euler"])',
        },
    },
    "09_editing_and_personalization": {
        "09_textual_inversion": {
            "loss, mean of the last 20 steps": '"{:.4f}".format(np.mean(ti_losses[-20:]))',
            "unseen hexagon prompts read as hexagon": '"{:.2f} of {}".format('
                                                      'ti_scores["all unseen prompts"]["hexagon"], '
                                                      'len(test_items))',
            "the new vector moved (share of its length)": '"{:.0%}".format(float(moved))',
        },
        "09_lora": {
            "loss, mean of the last 20 steps": '"{:.4f}".format(np.mean(lora_losses[-20:]))',
            "unseen hexagon prompts read as hexagon": '"{:.2f} of {}".format('
                                                      'lora_scores["all unseen prompts"]["hexagon"], '
                                                      'len(test_items))',
            "ordinary prompts' adherence (before: base model)": '"{:.2f} (before {:.2f})".format('
                                                                 'comparison["LoRA rank 4"]'
                                                                 '["ordinary prompts: adherence"], '
                                                                 'before_adherence)',
        },
    },
}


def harvest_cell(wanted: dict[str, dict[str, str]]) -> str:
    """Return the code of a cell that prints ``MARK`` and the scores ``wanted`` as JSON."""
    body = ", ".join(
        f"{name!r}: {{{', '.join(f'{label!r}: {expr}' for label, expr in scores.items())}}}"
        for name, scores in wanted.items())
    return f"import json\nprint({MARK!r} + json.dumps({{{body}}}))"


def harvested(nb: nbformat.NotebookNode) -> dict[str, dict[str, str]]:
    """Return the scores the harvest cell printed (the last cell's output)."""
    for output in nb.cells[-1].get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
    raise ValueError("the harvest cell printed no scores")


def _when(info: dict) -> str:
    made = info.get("machine", {})
    load = made.get("load_average")
    return (f"{made.get('date', '?')}, {made.get('cpus', '?')}-core {made.get('processor', '')} CPU, "
            f"torch {made.get('torch', '?')} with {made.get('torch_threads', '?')} thread(s)"
            + (f", 1-minute load {load} when saved" if load is not None else ""))


def card(folder: Path = CHECKPOINT_DIR) -> str:
    """Return the card (README.md) of every checkpoint in ``folder``, from their infos."""
    lines = [
        "# Checkpoints of the notebooks' models (노트북 모델의 체크포인트)",
        "",
        f"Written by `{COMMAND}` (`tools/make_checkpoints.py`) from the checkpoints' own records; "
        "`python tools/make_checkpoints.py --card` rewrites it. Do not edit by hand.",
        "",
        "Each file is what a notebook's own training cell trained for the full length: the notebook "
        "ran top to bottom in full mode with `WORKBOOK_FROM_SCRATCH=1 WORKBOOK_SAVE_CHECKPOINTS=1`, "
        "and `helpers.use_checkpoint` saved the weights (float32, exactly as trained), the loss "
        "histories and the seconds that cell measured. In class the notebook trains a short live "
        "stretch with the same code and then loads the file; `from_scratch = True` in its settings "
        "cell (or `WORKBOOK_FROM_SCRATCH=1`) trains the full length instead. The scores are what "
        "the same run of the notebook measured with these weights. A notebook that loads the "
        "checkpoint reseeds right after, so with the same torch and number of threads it measures "
        "the same; another thread count can change the last digits (the order of the sums changes).",
        "",
        "| checkpoint | notebook | modules | steps | training time | measured on |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    infos = {path.stem: read_info(path.stem, folder) for path in sorted(folder.glob("*.safetensors"))}
    for name, info in infos.items():
        size = checkpoint_path(name, folder).stat().st_size / 2**20
        lines.append(
            f"| `{name}.safetensors` ({size:.1f} MiB) | {info.get('notebook', '?')} | "
            f"{', '.join(info.get('modules', []))} | {info.get('steps', 0):,} | "
            f"{info.get('seconds', 0):.0f} s | {_when(info)} |")
    lines += ["", "## Scores", ""]
    for name, info in infos.items():
        lines.append(f"**{name}** ({info.get('command', COMMAND)}):")
        lines += [f"- {label}: {value}" for label, value in info.get("scores", {}).items()]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Make the checkpoints of the notebooks asked for (default: all in SCORES) and the card."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="names or NN prefixes (default: 01, 03, 09 and 11)")
    parser.add_argument("--card", action="store_true", help="only rewrite the card")
    parser.add_argument("--score", action="store_true",
                        help="do not train: run the notebooks in full mode loading their checkpoints, "
                             "and record the scores they measure with those weights")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds per cell")
    args = parser.parse_args(argv)
    if not args.card:
        out = REPO_ROOT / "build" / "checkpoints"
        out.mkdir(parents=True, exist_ok=True)
        for path in notebooks(args.notebooks or list(SCORES)):
            if path.stem not in SCORES:
                raise SystemExit(f"{path.stem} trains no checkpoint; these do: {', '.join(SCORES)}")
            what = "scoring the saved checkpoints" if args.score else "training from scratch"
            print(f"{path.stem}: {what} (full mode) ...", flush=True)
            start = time.perf_counter()
            env = {} if args.score else {"WORKBOOK_FROM_SCRATCH": "1", "WORKBOOK_SAVE_CHECKPOINTS": "1"}
            nb, error = execute(path, fast=False, cache=False, timeout=args.timeout,
                                log=out / f"{path.stem}.kernel.log", env=env,
                                append=[harvest_cell(SCORES[path.stem])])
            nbformat.write(nb, out / path.name)
            if error is not None:
                print(f"{path.stem}: FAILED: {error}", file=sys.stderr)
                return 1
            command = f"{COMMAND} (python tools/make_checkpoints.py {path.stem})"
            if args.score:
                command += (f"; scores from python tools/make_checkpoints.py {path.stem} --score, a full-mode "
                            "run that loaded it")
            for name, scores in harvested(nb).items():
                update_info(name, {"notebook": path.stem, "command": command, "scores": scores})
            print(f"{path.stem}: {', '.join(SCORES[path.stem])} saved in "
                  f"{time.perf_counter() - start:.0f} s (the whole notebook)", flush=True)
    (CHECKPOINT_DIR / "README.md").write_text(card() + "\n", encoding="utf-8")
    print(f"card: {CHECKPOINT_DIR / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
