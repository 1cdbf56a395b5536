"""Relaying accepted deliveries to the webhook_url a task's spec asked for.

batchrun puts its own receiver in each run's `webhook_url`, so the endpoint the user named
would hear nothing; the relay forwards the delivery as Skyvern sent it (raw body, signature,
timestamp, content type), so that endpoint can still verify it with the same API key.
Workers run inside the receiver's task group and take jobs from a bounded queue: answering
Skyvern never waits on a relay, and a flood of relays cannot grow memory without bound.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.abc
import httpx

from batchrun.receiver.settings import ReceiverSettings, ReceiverStats

# The statuses Skyvern itself retries a delivery on (besides 5xx and network errors): the
# relay should be as persistent as the sender the target was written for.
_RETRYABLE = frozenset({403, 408, 425, 429})
# The delivery headers forwarded unchanged; nothing else (host, length) is meaningful to pass.
RELAYED_HEADERS = ("content-type", "x-skyvern-signature", "x-skyvern-timestamp")


@dataclass(frozen=True)
class RelayJob:
    run_id: str
    url: str
    body: bytes
    headers: dict[str, str]


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; an HTTP date or garbage counts as absent."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class Relay:
    """A bounded queue of relay jobs and the workers that deliver them."""

    def __init__(
        self,
        settings: ReceiverSettings,
        stats: ReceiverStats,
        warn: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._stats = stats
        self._warn = warn
        self._queue: deque[RelayJob] = deque()
        self._queued_bytes = 0
        self._busy = 0
        self._abandoned = 0  # jobs cancelled mid-delivery when the receiver stopped
        # Pulsed (set, then replaced) whenever the queue or `_busy` changes; waiters re-check.
        # Made in `run`: an anyio Event belongs to a running event loop.
        self._changed: anyio.Event | None = None

    @property
    def pending(self) -> int:
        """Jobs queued or being delivered."""
        return len(self._queue) + self._busy

    def submit(self, job: RelayJob) -> None:
        """Queue a job; never blocks. A full queue (by count or by bytes, as bodies may be
        up to max_body each) drops its oldest jobs, with a warning each."""
        limit, max_bytes = self._settings.relay_queue, self._settings.relay_queue_bytes
        while self._queue and (
            len(self._queue) >= limit or self._queued_bytes + len(job.body) > max_bytes
        ):
            dropped = self._take()
            self._stats.relay_dropped += 1
            self._warn(
                f"webhook relay queue full ({limit} relays or {max_bytes} bytes): dropped the "
                f"relay of run {dropped.run_id} to {dropped.url}"
            )
        self._queue.append(job)
        self._queued_bytes += len(job.body)
        self._pulse()

    def _take(self) -> RelayJob:
        job = self._queue.popleft()
        self._queued_bytes -= len(job.body)
        return job

    def _pulse(self) -> None:
        if self._changed is not None:
            changed, self._changed = self._changed, anyio.Event()
            changed.set()

    async def _wait_for_change(self) -> None:
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve the queue until cancelled (the receiver cancels after `drain`)."""
        self._changed = anyio.Event()
        timeout = httpx.Timeout(self._settings.relay_timeout)
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            anyio.create_task_group() as workers,
        ):
            for _ in range(self._settings.relay_workers):
                workers.start_soon(self._work, client)
            task_status.started()

    async def _work(self, client: httpx.AsyncClient) -> None:
        while True:
            while not self._queue:
                await self._wait_for_change()
            job = self._take()
            self._busy += 1
            delivered = False
            try:
                await self._deliver(client, job)
                delivered = True
            except Exception as exc:
                # A relay is a courtesy to the user's endpoint: a bug in it must not take the
                # receiver, and with it the batch, down.
                delivered = True
                self._stats.relay_failed += 1
                self._warn(f"relaying the webhook of run {job.run_id} failed: {exc!r}")
            finally:
                self._busy -= 1
                self._abandoned += not delivered
                self._pulse()

    async def drain(self) -> None:
        """Wait for every queued and running job to finish, up to the grace period."""
        with anyio.move_on_after(self._settings.relay_grace):
            while self.pending:
                await self._wait_for_change()

    def abandon(self) -> None:
        """After the workers are gone: count what never got delivered, with one warning."""
        left = len(self._queue) + self._abandoned
        self._queue.clear()
        self._queued_bytes = self._abandoned = 0
        if left:
            self._stats.relay_dropped += left
            self._warn(
                f"{left} webhook relay(s) still pending when the receiver stopped were dropped "
                "(`batchrun webhooks replay` can send them again)"
            )

    async def _deliver(self, client: httpx.AsyncClient, job: RelayJob) -> None:
        attempts = self._settings.relay_attempts
        for tries in range(1, attempts + 1):
            wait: float | None = None
            try:
                response = await client.post(job.url, content=job.body, headers=job.headers)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                outcome, retry = f"invalid URL: {exc}", False  # the same again would fail
            except httpx.HTTPError as exc:
                outcome, retry = f"{type(exc).__name__}: {exc}", True
            else:
                if 200 <= response.status_code < 300:
                    self._stats.relayed += 1
                    return
                outcome = f"HTTP {response.status_code}"
                retry = response.status_code >= 500 or response.status_code in _RETRYABLE
                wait = _retry_after(response.headers.get("retry-after"))
            if not retry or tries == attempts:
                break
            if wait is None:
                wait = self._settings.relay_wait(tries)
            await anyio.sleep(min(wait, self._settings.relay_max_wait))
        self._stats.relay_failed += 1
        self._warn(
            f"relaying the webhook of run {job.run_id} to {job.url} failed after {tries} "
            f"tr{'y' if tries == 1 else 'ies'}: {outcome}"
        )
