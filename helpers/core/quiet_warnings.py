"""Library warnings a student cannot act on: silenced, or said once in plain Korean.

Three messages reach a notebook from diffusers and transformers that a student can do nothing
about, in red, every run:

- transformers: "`CLIPImageProcessor` requires torchvision (not installed); falling back to
  `CLIPImageProcessorPil`": the PIL processor is the one the workbook wants; dropped.
- diffusers: "There are modules in ... that should be kept in float32: []": printed when a model
  with no such module is cast with ``.to(dtype)``; the empty list means nothing is affected;
  dropped (a non-empty list still shows).
- diffusers: "The following part of your input was truncated because CLIP can only handle
  sequences up to N tokens: [...]": useful, but in English and once per picture; said once per
  prompt ending in Korean instead.

``quiet_unactionable_warnings()`` installs one filter on each library's own log handler (both
libraries log through one handler of their root logger, which does not propagate); calling it
again does nothing. ``setup()`` and ``load_pipeline()`` call it.
"""

from __future__ import annotations

import logging

TORCHVISION_NOTICE = "requires torchvision (not installed); falling back to"
EMPTY_FLOAT32_LIST = "that should be kept in float32: []"
CLIP_TRUNCATION = "was truncated because CLIP can only handle sequences up to"


class UnactionableWarnings(logging.Filter):
    """A log filter: drops the two notices above and says a truncated prompt once, in Korean.

    Used by helpers.core.quiet_warnings (no notebook calls it).
    """

    def __init__(self) -> None:
        super().__init__("workbook")
        self.truncations_said: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if TORCHVISION_NOTICE in text or EMPTY_FLOAT32_LIST in text:
            return False
        if CLIP_TRUNCATION in text:
            limit = text.split("sequences up to", 1)[1].split("tokens", 1)[0].strip()
            removed = text.split("tokens:", 1)[-1].strip()
            if removed in self.truncations_said:
                return False
            self.truncations_said.add(removed)
            record.msg = (f"알림: 프롬프트가 텍스트 인코더가 읽는 {limit}토큰보다 길어서 "
                          f"뒷부분이 잘렸고 그림에 반영되지 않습니다: {removed}")
            record.args = ()
        return True


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

    Used by helpers.core.loading, helpers.core.setup_report (no notebook calls it).
    """
    for name in ("diffusers", "transformers"):
        for handler in _library_handlers(name):
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    return _FILTER
