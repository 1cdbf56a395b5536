"""`apply --listen`: run ends pushed by webhook instead of found by polling.

Every run is created with `webhook_url` pointing at a receiver served inside `apply`
(`batchrun.receiver`), so Skyvern tells of each end as it happens (docs/skyvern-api.md §14).
A valid final delivery wakes that run's watcher, which then reads the run as usual: a
webhook is a hint, never the record, and an interim `retry_pending` delivery is not an end.
Polls and the list scan go on at a slow pace as the fallback for deliveries that never come
(an unreachable receiver, a lost request).

Only the request sent carries the receiver's URL: the stored request and its content hash
keep the spec's own `webhook_url`, so listening on another port never makes a task
`changed`. A run whose task asked for its own `webhook_url` still gets its delivery: the
receiver relays it there.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc

from batchrun.errors import UsageError

_logger = logging.getLogger("batchrun.push")


@dataclass(frozen=True)
class ListenOptions:
    host: str
    port: int
    public_url: str | None = None

    @classmethod
    def parse(cls, listen: str, public_url: str | None) -> ListenOptions:
        """`--listen HOST:PORT` and `--public-url URL`, checked before anything is paid."""
        from batchrun.receiver import parse_listen  # a web server: loaded only to listen

        host, port = parse_listen(listen)
        if public_url is None and not _is_loopback(host):
            raise UsageError(
                f"--listen {listen}: a receiver on a non-loopback address needs --public-url, "
                "the address Skyvern can reach it at (e.g. behind a tunnel or proxy)"
            )
        return cls(host, port, public_url)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CompletionPush:
    """The receiver of one `apply`, and which spec `webhook_url` each run's delivery goes on to."""

    def __init__(self, options: ListenOptions, *, api_key: str) -> None:
        from batchrun.receiver import WebhookReceiver  # a web server: loaded only to listen

        self.receiver = WebhookReceiver(
            options.host,
            options.port,
            api_key=api_key,
            on_delivery=self._delivered,
            relay_target=self._relay_target,
            on_warning=self._warned,
            public_url=options.public_url,
        )
        self._wake: Callable[[str], None] = lambda run_id: None
        self._warn: Callable[[str], None] = lambda message: _logger.warning("%s", message)
        # Kept for the whole invocation: a delivery may come after polling saw the end.
        self._relay_to: dict[str, str] = {}
        self._finished = anyio.Event()

    def bind(self) -> None:
        """Take the port now: a taken one is a usage error before anything is paid for."""
        self.receiver.bind()

    def attach(self, wake: Callable[[str], None], warn: Callable[[str], None]) -> None:
        self._wake = wake
        self._warn = warn

    @property
    def url(self) -> str:
        return self.receiver.url

    def route(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body to send: deliveries come to the receiver (the caller keeps the spec's)."""
        return {**body, "webhook_url": self.url}

    def expect(self, run_id: str, spec_webhook_url: str | None) -> None:
        if spec_webhook_url:
            self._relay_to[run_id] = spec_webhook_url

    def stats(self) -> dict[str, Any]:
        stats = self.receiver.stats
        return {
            "accepted": stats.accepted,
            "duplicates": stats.duplicates,
            "refused": stats.refused_total,
            "relayed": stats.relayed,
            "relay_failed": stats.relay_failed,
            "relay_dropped": stats.relay_dropped,
        }

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            await self.receiver.serve(task_status=task_status)
        finally:
            self._finished.set()

    async def stop(self) -> None:
        """Stop taking deliveries; relays still pending get the receiver's grace period."""
        self.receiver.stop()
        await self._finished.wait()

    def _delivered(self, run_id: str, payload: dict[str, Any], final: bool) -> None:
        if final:
            self._wake(run_id)

    def _relay_target(self, run_id: str) -> str | None:
        return self._relay_to.get(run_id)

    def _warned(self, message: str) -> None:
        self._warn(message)
