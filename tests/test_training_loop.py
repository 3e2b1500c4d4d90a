"""The training core both training scripts share (helpers.training.loop), on tiny inputs."""

from __future__ import annotations

import json

import pytest
import torch

from helpers.training.loop import (
    CommandLine,
    HighTimesteps,
    Latents,
    draw_timesteps,
    lr_factor,
    min_snr_loss,
    training_noise_schedule,
)


def test_lr_factor_warms_up_then_decays_to_a_tenth():
    factor = lr_factor(warmup=4, total=104)
    assert [factor(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert factor(4) == 1.0
    assert factor(54) == pytest.approx(0.55)  # half way down the cosine
    assert factor(104) == pytest.approx(0.1) and factor(500) == pytest.approx(0.1)


def test_min_snr_weights_only_the_low_noise_steps():
    _, snr = training_noise_schedule("cpu")
    assert snr[0] > 5 > snr[999]  # SD 1.5's schedule: almost clean at t=0, almost noise at t=999
    pred, noise = torch.ones(2, 4, 2, 2), torch.zeros(2, 4, 2, 2)
    t = torch.tensor([0, 999])
    weights = torch.clamp(snr[t], max=5.0) / snr[t]
    assert min_snr_loss(pred, noise, snr[t], 5.0) == pytest.approx(float(weights.mean()))
    assert min_snr_loss(pred, noise, snr[t[1:]], 5.0) == pytest.approx(1.0)  # SNR < 5: weight 1


def test_high_timesteps_start_at_their_step():
    gen = torch.Generator().manual_seed(0)
    high = HighTimesteps(minimum=900, share=1.0, start=10)
    assert draw_timesteps(9, 500, gen, 1000, high).min() < 900
    assert draw_timesteps(10, 500, gen, 1000, high).min() >= 900
    plain = draw_timesteps(0, 500, torch.Generator().manual_seed(1), 1000)
    assert plain.min() >= 0 and plain.max() < 1000
    half = draw_timesteps(10, 4000, gen, 1000, HighTimesteps(900, 0.5, 0))
    assert 0.5 < (half >= 900).float().mean() < 0.6  # half forced high, plus the uniform 10%


def test_latents_sample_is_mean_plus_std_noise_times_scaling():
    data = Latents(means=torch.ones(3, 4, 2, 2), stds=torch.zeros(3, 4, 2, 2), scaling=0.5)
    assert torch.equal(data.sample([0, 2], torch.Generator()), torch.full((2, 4, 2, 2), 0.5))
    data.stds += 1.0
    a = data.sample([1], torch.Generator().manual_seed(3))
    b = data.sample([1], torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, torch.full_like(a, 0.5))


def test_command_line_applies_only_the_flags_given(tmp_path):
    from helpers.training.train_controlnet import PRESETS

    command = CommandLine("test", PRESETS, out=tmp_path / "out", work=tmp_path / "work",
                          overrides=("steps",))
    args = command.parser().parse_args(["--preset", "tiny", "--steps", "7"])
    cfg = command.config(args)
    assert cfg.steps == 7 and cfg.people == PRESETS["tiny"].people and cfg.threads == 0
    assert PRESETS["tiny"].steps == 3  # the preset itself is untouched
    assert args.out == tmp_path / "out" and args.work == tmp_path / "work"
    assert command.config(command.parser().parse_args(["--threads", "2"])).threads == 2


def test_a_stage_resumed_with_more_steps_says_it_was_extended(tmp_path):
    from accelerate import Accelerator

    from helpers.training.loop import Stage, run_steps

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    accelerator = Accelerator(cpu=True)
    model, optimizer = accelerator.prepare(model, optimizer)
    first = Stage(accelerator, tmp_path, "vae")
    run_steps(first, start=first.resume(), steps=4, save_every=2, desc="t", step=lambda i: {})
    assert json.loads((first.ckpt / "step.json").read_text())["planned"] == 4
    again = Stage(accelerator, tmp_path, "vae")
    start = again.resume()
    assert start == 4 and again.extended(start, 4) == {}
    assert again.extended(start, 6) == {"extended_from": 4, "at_step": 4}
    assert Stage(accelerator, tmp_path / "fresh", "vae").extended(0, 6) == {}
