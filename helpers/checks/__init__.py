"""Exercise checkers: ``helpers.checks.check_<name>(answer)`` says whether a student's answer is right.

Each checker returns a ``Verdict`` (true when right) and shows a styled box with the reason or a hint.
One module per notebook holds that notebook's checkers, all written on one API
(``helpers.checks.api``):

- ``gan_vae_recap`` (01), ``forward_diffusion`` (02), ``reverse_diffusion`` (03),
  ``inside_stable_diffusion`` (04), ``running_stable_diffusion`` (05), ``prompt_engineering`` (06),
  ``failure_cases`` (07), ``controlnet`` (08), ``editing_and_personalization`` (09),
  ``responsible_generation`` (10);
- ``api``: ``Verdict``, ``correct``/``wrong``/``todo``, ``@checker``, ``expect``, ``call`` (time-limited);
- ``korean_particles``: the right particle after a number or an English word in a message.
"""

from helpers.checks.controlnet import check_hands_up, check_iou
from helpers.checks.editing_and_personalization import check_instruct_guidance, check_lora_numbers
from helpers.checks.failure_cases import check_best_fix, check_mass_share, check_split_two
from helpers.checks.forward_diffusion import check_q_sample, check_snr_crossing
from helpers.checks.gan_vae_recap import check_kl, check_reparameterize
from helpers.checks.inside_stable_diffusion import check_latent_shape, check_predicted_x0
from helpers.checks.prompt_engineering import check_full_prompt, check_mix_embeddings
from helpers.checks.responsible_generation import (
    check_detection_threshold,
    check_frechet_1d,
    check_jpeg_edit,
)
from helpers.checks.reverse_diffusion import check_ddpm_loss, check_guidance
from helpers.checks.running_stable_diffusion import check_generators, check_img2img_steps

__all__ = [
    # 01_gan_vae_recap
    "check_reparameterize",
    "check_kl",
    # 02_forward_diffusion
    "check_q_sample",
    "check_snr_crossing",
    # 03_reverse_diffusion
    "check_ddpm_loss",
    "check_guidance",
    # 04_inside_stable_diffusion
    "check_predicted_x0",
    "check_latent_shape",
    # 05_running_stable_diffusion
    "check_generators",
    "check_img2img_steps",
    # 06_prompt_engineering
    "check_full_prompt",
    "check_mix_embeddings",
    # 07_failure_cases
    "check_mass_share",
    "check_split_two",
    "check_best_fix",
    # 08_controlnet
    "check_iou",
    "check_hands_up",
    # 09_editing_and_personalization
    "check_lora_numbers",
    "check_instruct_guidance",
    # 10_responsible_generation
    "check_jpeg_edit",
    "check_frechet_1d",
    "check_detection_threshold",
]
