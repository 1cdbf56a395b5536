"""One exception hierarchy for everything the Skyvern API (or the network) can answer.

The scheduler acts on the class, not on status codes: `AuthError` ends the batch,
`BadRequestError` ends one task, `RateLimitedError`/`ServerBusyError` slow the batch down,
`AmbiguousSubmitError` means "a paid run may exist: look it up before submitting again".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class SkyvernError(Exception):
    """Base of every client error. `detail` is the server's message, made readable."""

    def __init__(self, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code

    def __str__(self) -> str:
        if self.status_code is None:
            return self.detail
        return f"HTTP {self.status_code}: {self.detail}"


class AuthError(SkyvernError):
    """403 (Skyvern never answers 401): the key is missing, wrong or expired. Fatal for a batch."""


class NotFoundError(SkyvernError):
    """404; Skyvern's body may be empty."""


class BadRequestError(SkyvernError):
    """400 or 422: the request itself is wrong, so repeating it cannot help."""


class ConflictError(SkyvernError):
    """409, e.g. replaying the webhook of a workflow run that still has a retry pending."""


class RateLimitedError(SkyvernError):
    """429. Skyvern's rate limiter sends no `Retry-After`, so `retry_after` is often None."""

    def __init__(
        self, detail: str, *, status_code: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(detail, status_code=status_code)
        self.retry_after = retry_after


class ServerBusyError(SkyvernError):
    """503: the submission gate, load shedding or an unavailable database."""

    def __init__(
        self, detail: str, *, status_code: int | None = 503, retry_after: float | None = None
    ) -> None:
        super().__init__(detail, status_code=status_code)
        self.retry_after = retry_after


class ServerError(SkyvernError):
    """Any other 5xx."""


class TransportError(SkyvernError):
    """No HTTP answer at all: refused, timed out, or the connection dropped."""

    def __init__(self, detail: str, *, request_sent: bool, timed_out: bool = False) -> None:
        super().__init__(detail)
        # False only when the request provably never left this process (connect/pool
        # failures): that is what makes a failed create POST safe to report as "no run".
        self.request_sent = request_sent
        # We gave up waiting, so the server may still be working on the request; after a
        # dropped connection, by contrast, it is done with it.
        self.timed_out = timed_out


class AmbiguousSubmitError(SkyvernError):
    """A run-creation POST whose outcome is unknown: a paid run MAY exist on the server.

    Never re-submit blindly after this; look the attempt up first (`find_attempt_run`).
    """

    def __init__(self, cause: SkyvernError) -> None:
        super().__init__(
            f"run creation outcome unknown ({cause}); a run may exist",
            status_code=cause.status_code,
        )
        self.cause = cause


class FileTooLargeError(SkyvernError):
    """A download passed its `max_bytes`; reading stopped there."""


class LinkExpiredError(SkyvernError):
    """A signed file URL was refused; GET the run again for fresh links."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now; it may be a number of seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def response_detail(response: httpx.Response) -> str:
    """The server's message, readable: FastAPI's list form flattened to `loc: msg; ...`."""
    try:
        text = response.text
    except httpx.ResponseNotRead:  # the body was lost mid-read; the status still speaks
        text = ""
    if not text.strip():
        return response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip()[:500]
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if key in body:
                return _flatten_detail(body[key])
    return text.strip()[:500]


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(part) for part in item.get("loc", ()))
                msg = str(item.get("msg", item))
                parts.append(f"{loc}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return json.dumps(detail, default=str)


def error_for_response(response: httpx.Response) -> SkyvernError:
    """The exception matching an unsuccessful HTTP response."""
    status = response.status_code
    detail = response_detail(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status in (401, 403):
        return AuthError(detail, status_code=status)
    if status == 404:
        return NotFoundError(detail, status_code=status)
    if status in (400, 422):
        return BadRequestError(detail, status_code=status)
    if status == 409:
        return ConflictError(detail, status_code=status)
    if status == 429:
        return RateLimitedError(detail, status_code=status, retry_after=retry_after)
    if status == 503:
        return ServerBusyError(detail, status_code=status, retry_after=retry_after)
    if status >= 500:
        return ServerError(detail, status_code=status)
    return SkyvernError(detail, status_code=status)


def error_for_exception(exc: httpx.HTTPError) -> TransportError:
    """The exception matching a request that got no HTTP answer."""
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    kind = type(exc).__name__
    message = str(exc) or kind
    return TransportError(
        f"{kind}: {message}",
        request_sent=not never_sent,
        timed_out=isinstance(exc, httpx.TimeoutException),
    )
