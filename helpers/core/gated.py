"""Gated models: whether this user may download one, and the sentence that says how to get access.

A gated repository (SD 3.5's, for example) answers only users who accepted its licence on the
model page and are logged in (a token). ``access_problem`` asks the hub once, with a timeout, so
that ``choose_backend`` can fall back to the bundled model with that sentence instead of failing
in the middle of a 5 GB download.
"""

from __future__ import annotations

import threading

from helpers.core.registry import ModelEntry

#: How a student logs in: in Colab a secret named HF_TOKEN, anywhere else ``login()``.
HOW_TO_LOG_IN = (
    "log in with a Hugging Face access token (Colab: the key icon on the left, add a secret named "
    "HF_TOKEN and allow this notebook; elsewhere: `from huggingface_hub import login; login()`)"
)


def gated_message(entry: ModelEntry) -> str:
    """Return the sentence that tells a student how to get ``entry``'s gated weights.

    Used by helpers.core.{gated, loading} (no notebook calls it).
    """
    return (f"{entry.key} ({entry.hub_id}) is gated: open {entry.licence_url}, log in, accept its licence "
            f"({entry.licence}), then {HOW_TO_LOG_IN}, and run this cell again.")


def access_problem(entry: ModelEntry, timeout: float = 5.0) -> str | None:
    """Return why this user cannot download gated ``entry`` now, or None when it can (or it is not gated).

    Asks the hub with ``huggingface_hub.auth_check`` in a daemon thread; an answer that does not
    come within ``timeout`` seconds, or an error other than "gated" / "not logged in", counts as
    no problem (the download then reports it).
    Used by helpers.core.loading (no notebook calls it).
    """
    if not entry.gated or entry.hub_id is None:
        return None
    answer: list[str | None] = []

    def probe() -> None:
        from huggingface_hub import auth_check
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

        try:
            auth_check(entry.hub_id)
            answer.append(None)
        except GatedRepoError:
            answer.append(gated_message(entry))
        except RepositoryNotFoundError:  # the hub says "not found" to an anonymous user of a gated repo
            answer.append(gated_message(entry))
        except Exception:
            answer.append(None)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return answer[0] if answer else None
