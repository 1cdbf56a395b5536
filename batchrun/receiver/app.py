"""The ASGI app that checks each webhook delivery and hands the valid ones on.

Every check that can refuse a request cheaply comes before the ones that cost: the rate cap
first, then path, method and headers, then the body (read incrementally, so an oversized or
trickling one is cut early), and only then the HMAC and the JSON parse. A refused request
changes nothing but the refusal counters.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from batchrun.receiver.relay import RELAYED_HEADERS, Relay, RelayJob
from batchrun.receiver.settings import (
    TERMINAL_STATUSES,
    ReceiverSettings,
    ReceiverStats,
    TokenBucket,
)

DeliveryCallback = Callable[[str, dict[str, Any], bool], None]
RelayTarget = Callable[[str], str | None]
_MAX_RUN_ID = 200  # characters; real ids are ~25, a longer one is not a Skyvern payload


class _BodyTooLarge(Exception):
    pass


def signature_for(api_key: str, body: bytes) -> str:
    """Skyvern's x-skyvern-signature: HMAC-SHA256 of the raw body, keyed with the API key."""
    return hmac.new(api_key.encode(), body, hashlib.sha256).hexdigest()


def run_id_of(payload: dict[str, Any]) -> str | None:
    """The run a payload is about. Newer payloads carry `run_id`; in the legacy shapes a
    task's id is `task_id` (its `workflow_run_id` may be set too, for skyvern-2.0, but names
    another object), and only a workflow run's payload has no `task_id`."""
    for key in ("run_id", "task_id", "workflow_run_id"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= _MAX_RUN_ID else None
    return None


def is_final(payload: dict[str, Any]) -> bool:
    """A terminal status ends the run, except a workflow attempt that will be retried."""
    return payload.get("status") in TERMINAL_STATUSES and payload.get("retry_pending") is not True


class DeliveryApp:
    """Answers POSTs on one secret path: 200 for a valid delivery, 4xx for anything else."""

    def __init__(
        self,
        *,
        path: str,
        api_keys: Sequence[str],
        on_delivery: DeliveryCallback,
        relay_target: RelayTarget | None,
        relay: Relay,
        settings: ReceiverSettings,
        stats: ReceiverStats,
        warn: Callable[[str], None],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path.encode()
        self._keys = [key.encode() for key in api_keys]
        self._on_delivery = on_delivery
        self._relay_target = relay_target
        self._relay = relay
        self._settings = settings
        self._stats = stats
        self._warn = warn
        self._wall_clock = wall_clock
        self._bucket = TokenBucket(settings.rate, settings.burst)
        self._seen: OrderedDict[tuple[Any, ...], None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off and websockets are not served
            return
        response = await self._handle(scope, receive)
        await response(scope, receive, send)

    def _refuse(self, reason: str, status: int, headers: dict[str, str] | None = None) -> Response:
        self._stats.refused[reason] += 1
        return Response(f"{reason}\n", status, headers=headers, media_type="text/plain")

    async def _handle(self, scope: Scope, receive: Receive) -> Response:
        wait = self._bucket.take()
        if wait:
            return self._refuse("rate_limited", 429, {"retry-after": str(max(1, math.ceil(wait)))})
        path = scope["path"].encode()
        if not hmac.compare_digest(path, self._path):
            return self._refuse("not_found", 404)
        if scope["method"] != "POST":
            return self._refuse("method", 405, {"allow": "POST"})
        headers = _headers(scope)
        signature = headers.get("x-skyvern-signature", "").strip().lower()
        if len(signature) != 64:  # a SHA-256 hex digest; anything else cannot match
            return self._refuse("signature", 401)
        if not self._fresh(headers.get("x-skyvern-timestamp")):
            return self._refuse("timestamp", 401)
        declared = headers.get("content-length", "0")
        if declared.isdigit() and int(declared) > self._settings.max_body:
            return self._refuse("too_large", 413, {"connection": "close"})
        try:
            body = await self._read_body(receive)
        except _BodyTooLarge:
            return self._refuse("too_large", 413, {"connection": "close"})
        except TimeoutError:
            return self._refuse("body_timeout", 408, {"connection": "close"})
        if not self._signed(body, signature):
            return self._refuse("signature", 401)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # ValueError covers bad UTF-8 too
            return self._refuse("bad_json", 400)
        run_id = run_id_of(payload) if isinstance(payload, dict) else None
        if run_id is None:
            return self._refuse("no_run_id", 400)
        return self._accept(run_id, payload, body, headers)

    def _fresh(self, timestamp: str | None) -> bool:
        if timestamp is None:
            return False
        try:
            sent = int(timestamp.strip())
        except ValueError:
            return False
        return abs(self._wall_clock() - sent) <= self._settings.max_skew

    def _signed(self, body: bytes, signature: str) -> bool:
        given = signature.encode()
        # Every key is tried, so the time taken does not tell which one (if any) matched.
        matches = [
            hmac.compare_digest(hmac.new(key, body, hashlib.sha256).hexdigest().encode(), given)
            for key in self._keys
        ]
        return any(matches)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        with anyio.fail_after(self._settings.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._settings.max_body:
                    raise _BodyTooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return b"".join(chunks)

    def _accept(
        self, run_id: str, payload: dict[str, Any], body: bytes, headers: dict[str, str]
    ) -> Response:
        # retry_pending is part of the key: an interim `failed` and a later final `failed` of
        # the same attempt (a retry that was then called off) are different news.
        key = (run_id, payload.get("status"), payload.get("attempt"), payload.get("retry_pending"))
        if key in self._seen:
            self._stats.duplicates += 1
            return Response("ok\n", 200, media_type="text/plain")
        try:
            self._on_delivery(run_id, payload, is_final(payload))
        except Exception as exc:
            # Our own bug, not the sender's: a 500 makes Skyvern deliver again, and the key is
            # not remembered, so that delivery gets a fresh chance.
            self._warn(f"webhook callback failed for run {run_id}: {type(exc).__name__}: {exc}")
            return Response("callback failed\n", 500, media_type="text/plain")
        self._seen[key] = None
        if len(self._seen) > self._settings.dedupe_memory:
            self._seen.popitem(last=False)
        self._stats.accepted += 1
        self._queue_relay(run_id, body, headers)
        return Response("ok\n", 200, media_type="text/plain")

    def _queue_relay(self, run_id: str, body: bytes, headers: dict[str, str]) -> None:
        if self._relay_target is None:
            return
        try:
            url = self._relay_target(run_id)
        except Exception as exc:
            self._warn(f"webhook relay target lookup failed for run {run_id}: {exc}")
            return
        if not url:
            return
        relayed = {name: headers[name] for name in RELAYED_HEADERS if name in headers}
        self._relay.submit(RelayJob(run_id=run_id, url=url, body=body, headers=relayed))


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers by lowercase name; of repeated ones, the first counts."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers
