"""Slowing the whole batch down when the API says it is overloaded.

A 429 (often without `Retry-After`) or a 503 is a signal about the account or the server,
not about one task, so every caller reacts: new work pauses until the hint (or a growing
backoff) has passed, and the number of runs allowed in flight is cut multiplicatively, then
recovers by one after each stretch of quiet (AIMD, as TCP does).

A ceiling set from outside (the account's own concurrency, see `account_limit`) bounds the
window without being part of it: the window keeps its AIMD value, the limiter gets the lower
of the two, so neither mechanism undoes the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio

MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
CUT_FACTOR = 0.7
# Cuts closer together than this are one episode: a burst of 429s answering requests that
# were all sent before the first one must not collapse the window to 1.
CUT_SPACING_S = 2.0


class Throttle:
    def __init__(
        self,
        limiter: anyio.CapacityLimiter,
        maximum: int,
        *,
        on_cut: Callable[[int, float | None], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = limiter
        self._maximum = maximum
        self._on_cut = on_cut
        self._clock = clock
        self._paused_until = 0.0
        self._backoff = MIN_BACKOFF_S
        self._last_cut = float("-inf")
        self._quiet_successes = 0
        self._window = maximum
        self._ceiling: int | None = None

    @property
    def limit(self) -> int:
        return int(self._limiter.total_tokens)

    @property
    def window(self) -> int:
        """The AIMD window alone, whatever the ceiling."""
        return self._window

    def set_ceiling(self, ceiling: int | None) -> None:
        """Bound the runs in flight by `ceiling` too (None: no bound beyond the window)."""
        self._ceiling = ceiling
        self._apply()

    def _apply(self) -> None:
        target = self._window if self._ceiling is None else min(self._window, self._ceiling)
        target = max(1, target)
        if target != self.limit:
            self._limiter.total_tokens = target

    def hit(self, retry_after: float | None) -> None:
        """The API answered 429 or 503: pause new requests and shrink the window."""
        now = self._clock()
        pause = retry_after if retry_after is not None else self._backoff
        self._paused_until = max(self._paused_until, now + min(pause, MAX_BACKOFF_S))
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        self._quiet_successes = 0
        if now - self._last_cut >= CUT_SPACING_S:
            self._last_cut = now
            self._window = max(1, int(self.limit * CUT_FACTOR))
            self._apply()
            if self._on_cut is not None:
                self._on_cut(self.limit, retry_after)

    def success(self) -> None:
        """A request went through: after a quiet stretch, allow one more run in flight."""
        self._backoff = MIN_BACKOFF_S
        self._quiet_successes += 1
        if self._window < self._maximum and self._quiet_successes >= max(4, self._window):
            self._quiet_successes = 0
            self._window += 1
            self._apply()

    @property
    def pause_remaining(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    async def wait_clear(self) -> None:
        """Return once no pause is in force."""
        while (remaining := self.pause_remaining) > 0:
            await anyio.sleep(remaining)


def cut_message(limit: int, retry_after: float | None) -> str:
    hint = f", Retry-After {retry_after:g}s" if retry_after is not None else ""
    return f"the API is throttling us{hint}; runs in flight capped at {limit}"
