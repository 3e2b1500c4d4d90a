"""Library notices a student cannot act on are silenced; a truncated prompt is said once, in Korean."""

import logging

from helpers.core.quiet_warnings import quiet_unactionable_warnings


def _emit(logger_name: str, message: str, capture: list) -> None:
    logger = logging.getLogger(logger_name)
    root = logging.getLogger(logger_name.split(".")[0])
    handler = root.handlers[0]
    original = handler.emit
    handler.emit = lambda record: capture.append(record.getMessage())
    try:
        logger.warning(message)
    finally:
        handler.emit = original


def test_the_notices_are_dropped_and_others_pass():
    quiet_unactionable_warnings()
    quiet_unactionable_warnings()  # twice: one filter per handler
    assert len(logging.getLogger("diffusers").handlers[0].filters) == len(
        set(logging.getLogger("diffusers").handlers[0].filters))
    seen = []
    _emit("transformers.utils.import_utils", "`CLIPImageProcessor` requires torchvision (not "
          "installed); falling back to `CLIPImageProcessorPil` for backward compatibility.", seen)
    _emit("diffusers.models.modeling_utils", "There are modules in CLIPTextModel that should be kept "
          "in float32: []. Casting directly with `to()` ...", seen)
    _emit("transformers.modeling_utils", "The new embeddings will be initialized from a multivariate "
          "normal distribution that has old embeddings' mean and covariance.", seen)
    _emit("diffusers.loaders.lora_pipeline", "No LoRA keys associated to CLIPTextModel found with the "
          "prefix='text_encoder'. This is safe to ignore ...", seen)
    assert seen == []
    _emit("diffusers.models.modeling_utils", "There are modules in X that should be kept in "
          "float32: ['norm']. Casting ...", seen)
    _emit("transformers.foo", "something a student should read", seen)
    assert len(seen) == 2


def test_a_truncated_prompt_is_said_once_in_korean():
    quiet_unactionable_warnings()
    seen = []
    message = ("The following part of your input was truncated because CLIP can only handle "
               "sequences up to 16 tokens: ['on a green background', 'on a green background']")
    for _ in range(3):
        _emit("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion", message, seen)
    assert seen == ["알림: 프롬프트가 텍스트 인코더가 읽는 16토큰보다 길어서 뒷부분이 잘렸고 "
                    "그림에 반영되지 않습니다: 'on a green background'"]


def test_a_long_tokenization_is_said_in_korean():
    quiet_unactionable_warnings()
    seen = []
    _emit("transformers.tokenization_utils_base", "Token indices sequence length is longer than the "
          "specified maximum sequence length for this model (97 > 32). Running this sequence through "
          "the model will result in indexing errors", seen)
    assert seen == ["알림: 이 프롬프트는 97토큰으로, 텍스트 인코더가 한 번에 읽는 32토큰보다 깁니다. "
                    "파이프라인은 넘는 부분을 잘라 냅니다."]
