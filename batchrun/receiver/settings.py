"""The receiver's knobs, its counters, and the token bucket that caps its request rate."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Skyvern's own statuses that end a run (a workflow's `failed` with `retry_pending` excepted).
TERMINAL_STATUSES = frozenset({"completed", "failed", "terminated", "timed_out", "canceled"})


@dataclass(frozen=True)
class ReceiverSettings:
    """Limits and timings; the defaults suit one batch on a shared machine."""

    max_body: int = 2 * 1024 * 1024  # bytes; a real payload is a few kB, outputs included
    max_skew: float = 300.0  # seconds a delivery's x-skyvern-timestamp may be off from now
    body_timeout: float = 10.0  # seconds to receive a whole body (a trickling client is cut)
    rate: float = 100.0  # requests per second, sustained, over all paths and clients
    burst: int = 200  # requests accepted at once before the rate applies
    max_connections: int = 100  # concurrent connections; bounds memory at max_body each
    dedupe_memory: int = 200_000  # (run, status, attempt) keys kept to recognise repeats
    relay_attempts: int = 3
    relay_backoff: tuple[float, ...] = (1.0, 2.0, 4.0)  # wait before try 2, 3, ...
    relay_timeout: float = 30.0  # seconds per relay request
    relay_max_wait: float = 30.0  # cap on a relay target's Retry-After
    relay_queue: int = 1000  # relays waiting; beyond it the oldest is dropped
    relay_queue_bytes: int = 64 * 1024 * 1024  # ... and beyond this many body bytes
    relay_workers: int = 4  # so one dead target does not hold up every other relay
    relay_grace: float = 5.0  # seconds pending relays get to finish when the receiver stops

    def __post_init__(self) -> None:
        positive = {
            "max_body": self.max_body,
            "max_skew": self.max_skew,
            "body_timeout": self.body_timeout,
            "rate": self.rate,
            "burst": self.burst,
            "max_connections": self.max_connections,
            "dedupe_memory": self.dedupe_memory,
            "relay_attempts": self.relay_attempts,
            "relay_timeout": self.relay_timeout,
            "relay_queue": self.relay_queue,
            "relay_queue_bytes": self.relay_queue_bytes,
            "relay_workers": self.relay_workers,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"ReceiverSettings.{name} must be > 0, got {value!r}")
        if self.relay_grace < 0 or self.relay_max_wait < 0:
            raise ValueError("ReceiverSettings.relay_grace and relay_max_wait must be >= 0")
        if any(wait < 0 for wait in self.relay_backoff):
            raise ValueError("ReceiverSettings.relay_backoff must hold waits >= 0")

    def relay_wait(self, tries_done: int) -> float:
        """The wait after the `tries_done`-th failed try; the last step repeats."""
        if not self.relay_backoff:
            return 0.0
        return self.relay_backoff[min(tries_done - 1, len(self.relay_backoff) - 1)]


@dataclass
class ReceiverStats:
    """What the receiver did, for the tests and the run summary."""

    accepted: int = 0  # valid deliveries seen for the first time (the callback ran)
    duplicates: int = 0  # valid deliveries already seen: answered 200, nothing else
    refused: Counter[str] = field(default_factory=Counter)  # reason -> requests
    relayed: int = 0
    relay_failed: int = 0  # every try failed, or the target refused it outright
    relay_dropped: int = 0  # queue overflow, or still pending when the receiver stopped

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())


class TokenBucket:
    """`burst` tokens, refilled at `rate` per second; each request takes one."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def take(self) -> float:
        """0.0 when a token was taken; otherwise the seconds until one will be there."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self._rate
