"""What a failed create request means: a pure classification, one place for the rules.

A create request either created a run or not, and the answer may not say which. The
consequences differ, so every failure is sorted into exactly one of:

- NOT_CREATED: provably no run; submit again after `delay` (it costs no attempt);
- THROTTLED: the server is shedding submissions (429, or 503 from its submission gate):
  no run, and the whole batch slows down (`retry_after` is the server's hint, if any);
- FAIL_TASK: the server refused this request itself (400/422, a 404 workflow, a 409, or a
  403 about what was asked for rather than about the key): the task fails, no run;
- FATAL: the key was refused: nothing else can succeed, the batch stops;
- AMBIGUOUS: a paid run may exist: look it up before submitting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from batchrun.client import (
    AmbiguousSubmitError,
    AuthError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ServerBusyError,
    SkyvernError,
    TransportError,
)


class SubmitFailure(StrEnum):
    NOT_CREATED = "not_created"
    THROTTLED = "throttled"
    FAIL_TASK = "fail_task"
    FATAL = "fatal"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, slots=True)
class SubmitVerdict:
    failure: SubmitFailure
    reason: str
    retry_after: float | None = None
    unreachable: bool = False  # no HTTP answer at all: counts toward "the API is down"


def classify_submit_error(error: SkyvernError) -> SubmitVerdict:
    if isinstance(error, AmbiguousSubmitError):
        return SubmitVerdict(SubmitFailure.AMBIGUOUS, str(error))
    if isinstance(error, RateLimitedError | ServerBusyError):
        return SubmitVerdict(
            SubmitFailure.THROTTLED,
            f"server busy ({error.status_code})",
            retry_after=error.retry_after,
        )
    if isinstance(error, TransportError):
        return SubmitVerdict(
            SubmitFailure.NOT_CREATED, f"API unreachable: {error}", unreachable=True
        )
    if isinstance(error, AuthError):
        if is_about_credentials(error):
            return SubmitVerdict(
                SubmitFailure.FATAL, f"the API rejected the API key: {error.detail}"
            )
        return SubmitVerdict(SubmitFailure.FAIL_TASK, refused(error))
    if isinstance(error, BadRequestError | NotFoundError | ConflictError):
        return SubmitVerdict(SubmitFailure.FAIL_TASK, refused(error))
    return SubmitVerdict(SubmitFailure.NOT_CREATED, str(error))


def refused(error: SkyvernError) -> str:
    return f"the API refused the request ({error.status_code}): {error.detail}"


def is_about_credentials(error: AuthError) -> bool:
    """Whether a 403 is about the key (the server's messages for a missing, invalid or
    expired key, docs/skyvern-api.md §2) rather than about what was asked for."""
    detail = error.detail.lower()
    return any(word in detail for word in ("credential", "api key", "token", "expired"))
