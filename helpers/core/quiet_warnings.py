"""Library warnings a student cannot act on: silenced, or said once in plain Korean.

Messages reach a notebook from diffusers and transformers, in red, that a student can do
nothing about:

- transformers: "`CLIPImageProcessor` requires torchvision (not installed); falling back to
  `CLIPImageProcessorPil`": the PIL processor is the one the workbook wants; dropped.
- diffusers: "There are modules in ... that should be kept in float32: []": printed when a model
  with no such module is cast with ``.to(dtype)``; the empty list means nothing is affected;
  dropped (a non-empty list still shows).
- transformers: "The new embeddings will be initialized from a multivariate normal distribution
  ...": printed when diffusers' ``load_textual_inversion`` grows the embedding table; the new row
  is overwritten with the loaded vector at once; dropped.
- diffusers: "No LoRA keys associated to CLIPTextModel found with the prefix='text_encoder'":
  a LoRA trained on the U-Net only, as the workbook's are; the message itself says it is safe to
  ignore; dropped.
- diffusers: "The following part of your input was truncated because CLIP can only handle
  sequences up to N tokens: [...]": useful, but in English and once per picture; said once per
  prompt ending in Korean instead.
- transformers: "Token indices sequence length is longer than the specified maximum sequence
  length for this model (97 > 32). Running this sequence through the model will result in
  indexing errors": a tokenizer called without truncation on a long prompt; the pipelines do
  truncate, so there is no indexing error to fear; said in Korean instead (the tokenizer says
  it once per tokenizer).

``quiet_unactionable_warnings()`` installs one filter on each library's own log handler (both
libraries log through one handler of their root logger, which does not propagate); calling it
again does nothing. ``setup()`` and ``load_pipeline()`` call it.
"""

from __future__ import annotations

import ast
import logging

TORCHVISION_NOTICE = "requires torchvision (not installed); falling back to"
EMPTY_FLOAT32_LIST = "that should be kept in float32: []"
NEW_EMBEDDINGS = "The new embeddings will be initialized from a multivariate normal distribution"
NO_TEXT_ENCODER_LORA = "No LoRA keys associated to CLIPTextModel found with the prefix='text_encoder'"
DROPPED = (TORCHVISION_NOTICE, EMPTY_FLOAT32_LIST, NEW_EMBEDDINGS, NO_TEXT_ENCODER_LORA)
CLIP_TRUNCATION = "was truncated because CLIP can only handle sequences up to"
TOKENIZER_LENGTH = "Token indices sequence length is longer than the specified maximum sequence length"


class UnactionableWarnings(logging.Filter):
    """A log filter: drops the notices above and says a too-long prompt in Korean.

    Used by helpers.core.quiet_warnings (no notebook calls it).
    """

    def __init__(self) -> None:
        super().__init__("workbook")
        self.truncations_said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(notice in text for notice in DROPPED):
            return False
        if CLIP_TRUNCATION in text:
            limit = text.split("sequences up to", 1)[1].split("tokens", 1)[0].strip()
            removed = _unique_pieces(text.split("tokens:", 1)[-1].strip())
            if removed in self.truncations_said:
                return False
            self.truncations_said.add(removed)
            record.msg = (f"알림: 프롬프트가 텍스트 인코더가 읽는 {limit}토큰보다 길어서 "
                          f"뒷부분이 잘렸고 그림에 반영되지 않습니다: {removed}")
            record.args = ()
        elif TOKENIZER_LENGTH in text and "(" in text:
            counts = text.split("(", 1)[1].split(")", 1)[0]  # "97 > 32"
            got, _, limit = counts.partition(" > ")
            record.msg = (f"알림: 이 프롬프트는 {got.strip()}토큰으로, 텍스트 인코더가 한 번에 읽는 "
                          f"{limit.strip()}토큰보다 깁니다. 파이프라인은 넘는 부분을 잘라 냅니다.")
            record.args = ()
        return True


def _unique_pieces(removed: str) -> str:
    """Return diffusers' list of cut-off texts (one per picture of a batch) with repeats left out."""
    try:
        pieces = ast.literal_eval(removed)
    except (ValueError, SyntaxError):
        return removed
    if not isinstance(pieces, list):
        return removed
    return ", ".join(repr(piece) for piece in dict.fromkeys(pieces))


_FILTER = UnactionableWarnings()


def _library_handlers(name: str) -> list[logging.Handler]:
    """Return the handlers of a library's root logger, made now if the library has not yet."""
    if name == "diffusers":
        from diffusers.utils import logging as library_logging
    else:
        from transformers.utils import logging as library_logging
    library_logging.get_logger(name)  # configures the library's root logger and its handler
    return list(logging.getLogger(name).handlers)


def quiet_unactionable_warnings() -> UnactionableWarnings:
    """Return the filter after putting it on diffusers' and transformers' log handlers (once).

    Used by helpers.core.{loading, setup_report} (no notebook calls it).
    """
    for name in ("diffusers", "transformers"):
        for handler in _library_handlers(name):
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    return _FILTER
