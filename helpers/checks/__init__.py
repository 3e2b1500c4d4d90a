"""Exercise checkers: ``helpers.checks.check_<name>(answer)`` says whether a student's answer is right.

Each checker returns a ``Verdict`` (true when right) and shows a styled box with the reason or a hint.
"""

from helpers.checks.checkers import (
    check_best_fix,
    check_ddpm_loss,
    check_detection_threshold,
    check_frechet_1d,
    check_full_prompt,
    check_generators,
    check_guidance,
    check_hands_up,
    check_img2img_steps,
    check_instruct_guidance,
    check_iou,
    check_jpeg_edit,
    check_kl,
    check_latent_shape,
    check_lora_numbers,
    check_mass_share,
    check_mix_embeddings,
    check_predicted_x0,
    check_q_sample,
    check_reparameterize,
    check_snr_crossing,
    check_split_two,
)

__all__ = [
    "check_reparameterize",
    "check_kl",
    "check_q_sample",
    "check_snr_crossing",
    "check_ddpm_loss",
    "check_guidance",
    "check_predicted_x0",
    "check_latent_shape",
    "check_generators",
    "check_img2img_steps",
    "check_full_prompt",
    "check_mix_embeddings",
    "check_iou",
    "check_hands_up",
    "check_mass_share",
    "check_split_two",
    "check_best_fix",
    "check_jpeg_edit",
    "check_frechet_1d",
    "check_detection_threshold",
    "check_lora_numbers",
    "check_instruct_guidance",
]
