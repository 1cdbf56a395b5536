"""HTTP-level fault injection: 429s, 5xx, dropped connections and latency.

A pure ASGI layer placed OUTSIDE the Starlette app, so it sees uvicorn's own `send` and
can reach the connection's transport to close it without any response, which is what a
client sees when a load balancer or the network drops a request. Draws come from one
seeded generator, so a scenario with a seed misbehaves the same way on every run.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from batchrun.sim.scenario import Faults

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/v1/run/(tasks|agents|workflows)$"), "create"),
    ("GET", re.compile(r"^/v1/runs$"), "list"),
    ("POST", re.compile(r"^/v1/runs/cancel$"), "bulk_cancel"),
    ("GET", re.compile(r"^/v1/runs/[^/]+$"), "get"),
    ("POST", re.compile(r"^/v1/runs/[^/]+/cancel$"), "cancel"),
    ("GET", re.compile(r"^/v1/runs/[^/]+/timeline$"), "timeline"),
    ("GET", re.compile(r"^/v1/runs/[^/]+/artifacts$"), "artifacts"),
    ("POST", re.compile(r"^/v1/runs/[^/]+/retry_webhook$"), "retry_webhook"),
    ("GET", re.compile(r"^/v1/artifacts/[^/]+$"), "artifact"),
    ("GET", re.compile(r"^/v1/artifacts/[^/]+/content$"), "content"),
    ("GET", re.compile(r"^/v1/version$"), "version"),
]


def endpoint_name(method: str, path: str) -> str | None:
    """The endpoint a request is for (as used in `faults.endpoints` and the stats)."""
    path = path.rstrip("/") or "/"
    method = "GET" if method == "HEAD" else method
    for route_method, pattern, name in _ROUTES:
        if method == route_method and pattern.match(path):
            return name
    return None


class FaultLayer:
    """Counts requests per endpoint and misbehaves as the current scenario's `faults` say."""

    def __init__(self, app: ASGIApp, origin: str, sim: Any) -> None:
        self.app = app
        self.origin = origin  # "api" or "file"
        self.sim = sim  # batchrun.sim.app.SimState: engine (with scenario) and the fault rng

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = (
            "file" if self.origin == "file" else endpoint_name(scope["method"], scope["path"])
        )
        if endpoint is None:  # admin and unknown paths: never faulted, not counted
            await self.app(scope, receive, send)
            return
        engine = self.sim.skyvern
        engine.count_request(endpoint)
        faults: Faults = engine.scenario.faults
        if not faults.applies_to(endpoint):
            await self.app(scope, receive, send)
            return
        if faults.latency:
            await asyncio.sleep(faults.latency)
        rng: random.Random = self.sim.fault_rng
        draw = rng.random()
        if draw < faults.drop:
            engine.count_fault("drop")
            after = endpoint == "create" and rng.random() < faults.drop_after_create
            if after:
                engine.count_fault("drop_after_create")
                await self.app(scope, receive, _swallow)
            await _drop(send)
            return
        draw -= faults.drop
        if draw < faults.rate_limit:
            engine.count_fault("rate_limit")
            await self._rate_limited(send, faults, rng)
            return
        draw -= faults.rate_limit
        if draw < faults.server_error:
            status = rng.choice((500, 502, 503))
            engine.count_fault(f"server_error_{status}")
            await self._server_error(send, status, scope["method"], scope["path"])
            return
        await self.app(scope, receive, send)

    async def _rate_limited(self, send: Send, faults: Faults, rng: random.Random) -> None:
        body = {
            "detail": "Rate limit exceeded for organization o_400000000000000001. "
            "Maximum 10 requests per 60 seconds allowed."
        }
        headers: dict[str, str] = {}
        # Skyvern's 429 usually carries no Retry-After; the scenario decides how often it does.
        if faults.retry_after is not None and rng.random() < faults.retry_after_rate:
            headers["retry-after"] = _seconds(faults.retry_after)
        await _respond(send, 429, json.dumps(body).encode(), "application/json", headers)

    async def _server_error(self, send: Send, status: int, method: str, path: str) -> None:
        if status == 502:  # what a proxy in front of the API answers
            await _respond(send, 502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        if status == 500:
            body = {"error": "Unexpected error: SimulatedServerError"}
            await _respond(send, 500, json.dumps(body).encode(), "application/json")
            return
        headers: dict[str, str] = {}
        if endpoint_name(method, path) == "create" and "/agents" in path:
            body = {
                "detail": "The server is busy dispatching other runs. No run was created; "
                "retry this request."
            }
            headers["retry-after"] = "5"
        else:
            body = {"error": "Database temporarily unavailable"}
            if method in ("GET", "HEAD", "OPTIONS"):
                headers["retry-after"] = "1"  # Skyvern hints only where a retry is harmless
        await _respond(send, 503, json.dumps(body).encode(), "application/json", headers)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


async def _respond(
    send: Send, status: int, body: bytes, media_type: str, headers: dict[str, str] | None = None
) -> None:
    raw_headers = [
        (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _swallow(message: Message) -> None:
    """The app's response goes nowhere: the run exists, the client will never know."""


async def _drop(send: Send) -> None:
    """Close the connection without a byte of response.

    uvicorn passes each request's `RequestResponseCycle.send` bound method, whose owner holds
    the connection's transport. Aborting it is a real TCP close; waiting until uvicorn has
    noticed keeps it from trying to write its own 500 to the dead connection.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        # Another server: start a response and break it off, which also ends the connection.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise ConnectionAbortedError("simulated dropped connection")
    transport.abort()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
