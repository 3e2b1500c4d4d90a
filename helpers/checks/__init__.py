"""Exercise checkers: ``helpers.checks.check_<name>(answer)`` says whether a student's answer is right.

Each checker returns a ``Verdict`` (true when right) and shows a styled box with the reason or a hint.
One module per notebook holds that notebook's checkers, all written on one API
(``helpers.checks.api``):

- ``setup_check`` (00), ``gan_vae_recap`` (01), ``forward_diffusion`` (02), ``reverse_diffusion`` (03),
  ``inside_stable_diffusion`` (04), ``running_stable_diffusion`` (05), ``prompt_engineering`` (06),
  ``failure_cases`` (07), ``controlnet`` (08), ``editing_and_personalization`` (09),
  ``responsible_generation`` (10);
- ``api``: ``Verdict``, ``correct``/``wrong``/``todo``, ``@checker``, ``expect``, ``call`` (time-limited);
- ``korean_particles``: the right particle after a number or an English word in a message;
- ``grading``: ``score``, the student edition's grading cells (``make editions``, ``make grade``).
"""

from helpers.checks.controlnet import (
    check_control_skip,
    check_hands_up,
    check_iou,
    check_vae_ceiling,
)
from helpers.checks.editing_and_personalization import (
    check_instruct_guidance,
    check_lora_forward,
    check_lora_numbers,
    check_most_changed_layer,
)
from helpers.checks.failure_cases import (
    check_fewest_steps,
    check_near_misses,
    check_split_two,
    check_word_share,
)
from helpers.checks.flow_matching import (
    check_flow_euler_step,
    check_flow_matching_loss,
    check_reflow_straightness,
)
from helpers.checks.forward_diffusion import check_q_sample, check_snr_crossing, check_snr_share
from helpers.checks.gan_vae_recap import check_colour_switch, check_kl, check_reparameterize
from helpers.checks.grading import score
from helpers.checks.inside_stable_diffusion import (
    check_latent_shape,
    check_predicted_x0,
    check_x0_settles,
)
from helpers.checks.prompt_engineering import (
    check_full_prompt,
    check_mix_crossing,
    check_mix_embeddings,
)
from helpers.checks.responsible_generation import (
    check_detection_threshold,
    check_frechet_1d,
    check_jpeg_edit,
    check_lowest_jpeg_quality,
    check_read_bits,
)
from helpers.checks.reverse_diffusion import (
    check_ddim_step,
    check_ddpm_loss,
    check_decided_step,
    check_guidance,
)
from helpers.checks.running_stable_diffusion import (
    check_enough_steps,
    check_euler_step,
    check_generators,
    check_img2img_steps,
)
from helpers.checks.setup_check import check_latent_ratio, check_starting_noise

__all__ = [
    # 00_setup_check
    "check_starting_noise",
    "check_latent_ratio",
    # 01_gan_vae_recap
    "check_reparameterize",
    "check_kl",
    "check_colour_switch",
    # 02_forward_diffusion
    "check_q_sample",
    "check_snr_crossing",
    "check_snr_share",
    # 03_reverse_diffusion
    "check_ddpm_loss",
    "check_ddim_step",
    "check_decided_step",
    "check_guidance",
    # 04_inside_stable_diffusion
    "check_predicted_x0",
    "check_latent_shape",
    "check_x0_settles",
    # 05_running_stable_diffusion
    "check_generators",
    "check_img2img_steps",
    "check_euler_step",
    "check_enough_steps",
    # 06_prompt_engineering
    "check_full_prompt",
    "check_mix_embeddings",
    "check_mix_crossing",
    # 07_failure_cases
    "check_word_share",
    "check_split_two",
    "check_fewest_steps",
    "check_near_misses",
    # 08_controlnet
    "check_iou",
    "check_hands_up",
    "check_control_skip",
    "check_vae_ceiling",
    # 09_editing_and_personalization
    "check_lora_numbers",
    "check_lora_forward",
    "check_most_changed_layer",
    "check_instruct_guidance",
    # 10_responsible_generation
    "check_jpeg_edit",
    "check_frechet_1d",
    "check_detection_threshold",
    "check_read_bits",
    "check_lowest_jpeg_quality",
    # 11_flow_matching
    "check_flow_matching_loss",
    "check_flow_euler_step",
    "check_reflow_straightness",
    # the student edition's grading cells (make editions, make grade)
    "score",
]
