"""The exercise checkers pass the reference answers and fail typical wrong ones."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers import checks
from helpers.checks.forward_diffusion import snr_crossing
from helpers.checks.gan_vae_recap import reference_kl


def right_reparameterize(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def test_reparameterize_right_and_wrong(capsys):
    assert checks.check_reparameterize(right_reparameterize)
    assert not checks.check_reparameterize(None)
    # sigma = exp(logvar) instead of exp(logvar / 2)
    assert not checks.check_reparameterize(lambda mu, lv: mu + lv.exp() * torch.randn_like(mu))
    # no noise at all: the mean is right, the spread is zero
    assert not checks.check_reparameterize(lambda mu, lv: mu + 0 * lv)
    # sampling inside torch.normal: no gradient to logvar
    assert not checks.check_reparameterize(lambda mu, lv: torch.normal(mu, (0.5 * lv).exp()))
    # detached: right numbers, no gradient
    assert not checks.check_reparameterize(lambda mu, lv: right_reparameterize(mu, lv).detach())
    assert "표준편차" in capsys.readouterr().out


def test_kl_right_and_wrong():
    assert checks.check_kl(reference_kl)
    assert not checks.check_kl(None)
    assert not checks.check_kl(lambda mu, lv: 0.5 * (mu**2 + lv.exp() - lv).sum(1))  # no -1
    assert not checks.check_kl(lambda mu, lv: (mu**2 + lv.exp() - lv - 1).sum(1))  # no 1/2
    assert not checks.check_kl(lambda mu, lv: reference_kl(mu, lv).mean())  # a scalar
    assert not checks.check_kl(lambda mu, lv: 1 / 0)  # a bug is reported, not raised


def test_reference_kl_is_zero_only_at_the_prior():
    zeros = torch.zeros(2, 3)
    assert torch.equal(reference_kl(zeros, zeros), torch.zeros(2))
    assert reference_kl(torch.ones(1, 3), torch.zeros(1, 3)).item() == 1.5


def test_q_sample_right_and_wrong():
    def right(x0, t, noise, abar):
        a = abar[t].view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def no_sqrt(x0, t, noise, abar):
        a = abar[t].view(-1, 1, 1, 1)
        return a * x0 + (1 - a) * noise

    def first_t_only(x0, t, noise, abar):
        a = abar[t[0]]
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    assert checks.check_q_sample(right)
    assert not checks.check_q_sample(no_sqrt)
    assert not checks.check_q_sample(first_t_only)
    assert not checks.check_q_sample(None)


def test_snr_crossing_numbers():
    from diffusers import DDPMScheduler

    abar = DDPMScheduler(num_train_timesteps=1000).alphas_cumprod
    t = snr_crossing(abar)
    snr = abar / (1 - abar)
    assert snr[t] < 1 <= snr[t - 1]
    assert 200 < t < 300  # the linear schedule crosses SNR 1 about a quarter of the way
    assert checks.check_snr_crossing(t)
    assert not checks.check_snr_crossing(t - 1)
    assert not checks.check_snr_crossing(t + 1)
    assert checks.check_snr_crossing(float(t))  # a whole number of any type is the answer
    assert not checks.check_snr_crossing(t + 0.5)
    assert not checks.check_snr_crossing(None)
    cosine = snr_crossing(
        DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2").alphas_cumprod
    )
    assert cosine > t  # the cosine schedule keeps the signal longer
    assert checks.check_snr_crossing(cosine, schedule="squaredcos_cap_v2")
    assert not checks.check_snr_crossing(t, schedule="squaredcos_cap_v2")


def test_ddpm_loss_right_and_wrong():
    def right(model, x0, noise, t, scheduler):
        noisy = scheduler.add_noise(x0, noise, t)
        return F.mse_loss(model(noisy, t).sample, noise)

    def predicts_x0(model, x0, noise, t, scheduler):
        noisy = scheduler.add_noise(x0, noise, t)
        return F.mse_loss(model(noisy, t).sample, x0)

    def forgets_noising(model, x0, noise, t, scheduler):
        return F.mse_loss(model(x0, t).sample, noise)

    def per_pixel(model, x0, noise, t, scheduler):
        noisy = scheduler.add_noise(x0, noise, t)
        return (model(noisy, t).sample - noise) ** 2

    assert checks.check_ddpm_loss(right)
    assert not checks.check_ddpm_loss(predicts_x0)
    assert not checks.check_ddpm_loss(forgets_noising)
    assert not checks.check_ddpm_loss(per_pixel)
    assert not checks.check_ddpm_loss(None)


def test_guidance_right_and_wrong():
    assert checks.check_guidance(lambda u, c, s: u + s * (c - u))
    assert not checks.check_guidance(lambda u, c, s: c + s * (c - u))  # wrong anchor
    assert not checks.check_guidance(lambda u, c, s: u + s * (u - c))  # wrong direction
    assert not checks.check_guidance(lambda u, c, s: s * c)
    assert not checks.check_guidance(None)


def test_check_predicted_x0_passes_the_right_answer_and_fails_wrong_ones():
    def right(z, eps, a):
        return (z - (1 - a).sqrt() * eps) / a.sqrt()

    def no_sqrt(z, eps, a):
        return (z - (1 - a) * eps) / a

    def forgot_noise(z, eps, a):
        return z / a.sqrt()

    assert checks.check_predicted_x0(right)
    assert not checks.check_predicted_x0(no_sqrt)
    assert not checks.check_predicted_x0(forgot_noise)
    assert not checks.check_predicted_x0(None)


def test_check_latent_shape_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_latent_shape(lambda h, w, f=8, c=4: (c, h // f, w // f))
    assert not checks.check_latent_shape(lambda h, w, f=8, c=4: (c, w // f, h // f))  # swapped
    assert not checks.check_latent_shape(lambda h, w, f=8, c=4: (3, h // f, w // f))
    assert not checks.check_latent_shape(lambda h, w, f=8, c=4: (c, h // 64, w // 64))
    assert not checks.check_latent_shape(None)


def test_check_generators_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s + i) for i in range(n)])
    assert not checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s) for _ in range(n)])
    assert not checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(s + i) for i in range(n - 1)])
    assert not checks.check_generators(lambda s, n: [torch.Generator("cpu").manual_seed(i) for i in range(n)])
    assert not checks.check_generators(None)


def test_check_img2img_steps_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_img2img_steps(lambda steps, s: min(int(steps * s), steps))
    assert not checks.check_img2img_steps(lambda steps, s: round(steps * s))
    assert not checks.check_img2img_steps(lambda steps, s: steps)
    assert not checks.check_img2img_steps(None)


def test_check_full_prompt_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_full_prompt(lambda s, z, c, p, b: f"a {z} {c} {s} at the {p} on a {b} background")
    assert not checks.check_full_prompt(lambda s, z, c, p, b: f"a {c} {z} {s} at the {p} on a {b} background")
    assert not checks.check_full_prompt(lambda s, z, c, p, b: f"a {z} {c} {s} at the {p}")
    assert not checks.check_full_prompt(lambda s, z, c, p, b: f"a {z} {c} {s} at the {p} on a {b} background ")
    assert not checks.check_full_prompt(None)


def test_check_mix_embeddings_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_mix_embeddings(lambda a, b, w: (1 - w) * a + w * b)
    assert not checks.check_mix_embeddings(lambda a, b, w: w * a + (1 - w) * b)
    assert not checks.check_mix_embeddings(lambda a, b, w: a + w * b)
    assert not checks.check_mix_embeddings(lambda a, b, w: ((1 - w) * a + w * b)[0])
    assert not checks.check_mix_embeddings(None)


def test_check_lora_numbers_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_lora_numbers(lambda d_in, d_out, r: r * (d_in + d_out))
    verdict = checks.check_lora_numbers(lambda d_in, d_out, r: d_in * d_out)
    assert not verdict and "층 전체(W)의 크기입니다" in verdict.message
    verdict = checks.check_lora_numbers(lambda d_in, d_out, r: r * d_in)
    assert not verdict and "A와 B 둘 다 세어야 합니다" in verdict.message
    assert not checks.check_lora_numbers(None)


def test_check_instruct_guidance_passes_the_right_answer_and_fails_wrong_ones():
    assert checks.check_instruct_guidance(lambda u, i, f, ts, is_: u + is_ * (i - u) + ts * (f - i))
    verdict = checks.check_instruct_guidance(lambda u, i, f, ts, is_: u + ts * (i - u) + is_ * (f - i))
    assert not verdict and "두 가이던스 세기가 뒤바뀌었습니다" in verdict.message
    verdict = checks.check_instruct_guidance(lambda u, i, f, ts, is_: u + ts * (f - u))
    assert not verdict and "보통의 분류기 없는 가이던스입니다" in verdict.message
    assert not checks.check_instruct_guidance(None)
