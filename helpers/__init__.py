"""helpers: the small library that grows out of the workbook's notebooks.

``import helpers`` is how every notebook starts; the names below are the short surface it uses,
grouped by role. Each comes from a room of its own (README's "Layout" lists every module):

- ``helpers.core``: plumbing (settings, device, the model registry, loading, generating, pictures,
  the notebooks' checkpoints)
- ``helpers.shapes``: the Shapes world (render, captions, people, the reader, the dataset)
- ``helpers.performance``, ``prompting``, ``control``, ``editing``, ``responsible``: lesson tools by topic
- ``helpers.checks``: the exercise checkers; ``helpers.classroom``: presenter mode and widgets
- ``helpers.training``: how the bundled models were made; ``helpers.gpu_budget``: the T4 estimates

Importing ``helpers`` only imports; nothing is downloaded, seeded or printed until you call something.
"""
# ruff: noqa: I001  (grouped by role, not sorted)

# Plumbing: settings, checkpoints, device, registry, loading, generating, pictures
from helpers.core.config import (
    BUNDLED_MODEL_DIR,
    DATA_DIR,
    FAST,
    IN_COLAB,
    REPO_ROOT,
    REPO_URL,
    TRAIN_FROM_SCRATCH,
)
from helpers.core.checkpoints import load_checkpoint, save_checkpoint, use_checkpoint
from helpers.core.device import default_dtype, hub_reachable, pick_device, seed_everything
from helpers.core.environment_check import CheckRow, environment_report, format_report
from helpers.core.generate import check_size, generate
from helpers.core.images import image_grid, show_images, to_pil
from helpers.core.loading import (
    BundledModelMissingError,
    ModelNotAvailableError,
    choose_backend,
    clear_cache,
    is_cached,
    load_pipeline,
)
from helpers.core.prompt_words import unknown_words
from helpers.core.registry import REGISTRY, TASKS, ModelEntry, get_model
from helpers.core.setup_report import setup
from helpers.core.tables import show_table

# The Shapes world and its reader; the exercise checkers
from helpers import checks, shapes
from helpers.shapes import reader
from helpers.shapes.reader import adherence, read

# Classroom: presenter mode, the generation cache, the prompt playground
from helpers.classroom.playground import make_picture, playground
from helpers.core.presenter import present
from helpers.core.generation_cache import cache_info, use_cache

# Lesson tools, by the notebook that introduces them
from helpers.performance.unet_cost import unet_cost  # 04
from helpers.performance.speed import time_per_image  # 05
from helpers.prompting.clip_score import clip_score, load_clip  # 05
from helpers.prompting.prompt_grid import prompt_matrix, xy_grid  # 06
from helpers.prompting.tokens import readable_tokens  # 06
from helpers.prompting.attention_maps import (  # 07
    attention_overlay,
    capture_cross_attention,
    mass_share,
    prompt_tokens,
    word_map,
    word_positions,
)
from helpers.prompting.two_objects import count_objects, object_mask, outcome_shares, two_object_outcome  # 07
from helpers.control.edges import canny_edges  # 08
from helpers.control.pose_control import controlled_pictures, pose_guides, pose_scores, unseen_people  # 08
from helpers.classroom.pose_editor import edit_pose, pose_editor, pose_picture, preset_pose  # 08
from helpers.shapes.hexagons import read_shape, render_hexagon  # 09
from helpers.editing.inversion import ddim_invert, edit_scores, regenerate  # 09
from helpers.editing.personalize import add_lora, add_token, train_concept  # 09
from helpers.responsible.deepfake_detector import confusion_matrix, detector_scores, saliency_map, train_detector  # 10
from helpers.responsible.frechet import feature_distance, frechet_distance, vae_features  # 10
from helpers.responsible.safety import load_safety_checker, run_safety_checker, safety_checker_cost  # 10
from helpers.responsible.spectrum import log_spectrum, radial_profile  # 10

__all__ = [
    # plumbing
    "BUNDLED_MODEL_DIR", "DATA_DIR", "FAST", "IN_COLAB", "REPO_ROOT", "REPO_URL",
    "TRAIN_FROM_SCRATCH", "load_checkpoint", "save_checkpoint", "use_checkpoint",
    "default_dtype", "hub_reachable", "pick_device", "seed_everything", "setup",
    "CheckRow", "environment_report", "format_report",
    "check_size", "generate", "image_grid", "show_images", "show_table", "to_pil", "unknown_words",
    "BundledModelMissingError", "ModelNotAvailableError", "choose_backend", "clear_cache",
    "is_cached", "load_pipeline", "REGISTRY", "TASKS", "ModelEntry", "get_model",
    # the Shapes world, its reader, the checkers
    "shapes", "reader", "adherence", "read", "checks",
    # classroom
    "make_picture", "playground", "present", "cache_info", "use_cache",
    # lesson tools
    "unet_cost", "time_per_image", "clip_score", "load_clip", "prompt_matrix", "xy_grid", "readable_tokens",
    "attention_overlay", "capture_cross_attention", "mass_share", "prompt_tokens", "word_map",
    "word_positions", "count_objects", "object_mask", "outcome_shares", "two_object_outcome",
    "canny_edges", "controlled_pictures", "pose_guides", "pose_scores", "unseen_people",
    "edit_pose", "pose_editor", "pose_picture", "preset_pose",
    "read_shape", "render_hexagon", "ddim_invert", "edit_scores", "regenerate",
    "add_lora", "add_token", "train_concept",
    "confusion_matrix", "detector_scores", "saliency_map", "train_detector",
    "feature_distance", "frechet_distance", "vae_features",
    "load_safety_checker", "run_safety_checker", "safety_checker_cost", "log_spectrum", "radial_profile",
]
