"""helpers: the small library that grows out of the workbook's notebooks.

Every function here is introduced by a notebook (its docstring says which). Importing
``helpers`` only imports; nothing is downloaded, seeded or printed until you call something.
"""

from helpers import check, figures, reader, sample_quality, shapes
from helpers.config import (
    BUNDLED_MODEL_DIR,
    DATA_DIR,
    FAST,
    IN_COLAB,
    REPO_ROOT,
    REPO_URL,
)
from helpers.device import (
    default_dtype,
    hub_reachable,
    pick_device,
    seed_everything,
    setup,
)
from helpers.envreport import CheckRow, environment_report, format_report
from helpers.generate import check_size, generate
from helpers.images import image_grid, show_images, to_pil
from helpers.loading import (
    BundledModelMissingError,
    ModelNotAvailableError,
    choose_backend,
    clear_cache,
    is_cached,
    load_pipeline,
)
from helpers.models import REGISTRY, TASKS, ModelEntry, get_model
from helpers.reader import adherence, read

__all__ = [
    "check",
    "figures",
    "reader",
    "sample_quality",
    "shapes",
    "adherence",
    "read",
    "BUNDLED_MODEL_DIR",
    "DATA_DIR",
    "FAST",
    "IN_COLAB",
    "REPO_ROOT",
    "REPO_URL",
    "REGISTRY",
    "TASKS",
    "BundledModelMissingError",
    "CheckRow",
    "ModelEntry",
    "ModelNotAvailableError",
    "check_size",
    "choose_backend",
    "clear_cache",
    "default_dtype",
    "environment_report",
    "format_report",
    "generate",
    "get_model",
    "hub_reachable",
    "image_grid",
    "is_cached",
    "load_pipeline",
    "pick_device",
    "seed_everything",
    "setup",
    "show_images",
    "to_pil",
]

# 04_inside_stable_diffusion
from helpers.unet_cost import unet_cost  # noqa: E402

__all__ += ["unet_cost"]

# 05_running_stable_diffusion
from helpers.clip_score import clip_score, load_clip  # noqa: E402
from helpers.speed import time_per_image  # noqa: E402

__all__ += ["clip_score", "load_clip", "time_per_image"]

# 06_prompt_engineering
from helpers.playground import make_picture, playground  # noqa: E402
from helpers.prompt_grid import prompt_matrix, xy_grid  # noqa: E402
from helpers.unknown_words import unknown_words  # noqa: E402

__all__ += ["make_picture", "playground", "prompt_matrix", "xy_grid", "unknown_words"]

# 00_setup_check, for the classroom: presenter mode and the generation cache
from helpers.generation_cache import cache_info, use_cache  # noqa: E402
from helpers.presenter import present  # noqa: E402

__all__ += ["cache_info", "present", "use_cache"]

# 07_failure_cases
from helpers.attention_maps import (  # noqa: E402
    attention_overlay,
    capture_cross_attention,
    mass_share,
    prompt_tokens,
    word_map,
    word_positions,
)
from helpers.two_objects import (  # noqa: E402
    count_objects,
    object_mask,
    outcome_shares,
    two_object_outcome,
)

__all__ += ["attention_overlay", "capture_cross_attention", "count_objects", "mass_share",
            "object_mask", "outcome_shares", "prompt_tokens", "two_object_outcome", "word_map",
            "word_positions"]

# 10_responsible_generation
from helpers import image_edits, watermark  # noqa: E402
from helpers.deepfake_detector import (  # noqa: E402
    confusion_matrix,
    detector_scores,
    saliency_map,
    train_detector,
)
from helpers.frechet import feature_distance, frechet_distance, vae_features  # noqa: E402
from helpers.safety import (  # noqa: E402
    load_safety_checker,
    run_safety_checker,
    safety_checker_cost,
)
from helpers.spectrum import log_spectrum, radial_profile  # noqa: E402

__all__ += ["image_edits", "watermark", "confusion_matrix", "detector_scores", "saliency_map",
            "train_detector", "feature_distance", "frechet_distance", "vae_features",
            "load_safety_checker", "run_safety_checker", "safety_checker_cost", "log_spectrum",
            "radial_profile"]

# 09_editing_and_personalization
from helpers import hexagons, inversion, personalize  # noqa: E402
from helpers.hexagons import read_shape, render_hexagon  # noqa: E402
from helpers.inversion import ddim_invert, edit_scores, regenerate  # noqa: E402
from helpers.personalize import add_lora, add_token, train_concept  # noqa: E402

__all__ += ["hexagons", "inversion", "personalize", "read_shape", "render_hexagon", "ddim_invert",
            "edit_scores", "regenerate", "add_lora", "add_token", "train_concept"]

# 08_controlnet
from helpers.edges import canny_edges  # noqa: E402
from helpers.pose_control import (  # noqa: E402
    controlled_pictures,
    pose_guides,
    pose_scores,
    unseen_people,
)
from helpers.pose_editor import edit_pose, pose_editor, pose_picture, preset_pose  # noqa: E402

__all__ += ["canny_edges", "controlled_pictures", "edit_pose", "pose_editor", "pose_guides",
            "pose_picture", "pose_scores", "preset_pose", "unseen_people"]
