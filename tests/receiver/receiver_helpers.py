"""Signing deliveries as Skyvern does, and recording what the receiver hands on."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio

from batchrun.receiver import signature_for

API_KEY = "receiver-test-key"


def compact(payload: Any) -> bytes:
    """Skyvern's body encoding: compact separators, UTF-8, non-ASCII kept."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(
    body: bytes, *, key: str = API_KEY, timestamp: float | None = None
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-skyvern-signature": signature_for(key, body),
        "x-skyvern-timestamp": str(int(time.time() if timestamp is None else timestamp)),
    }


def task_payload(run_id: str = "tsk_1", status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {"task_id": run_id, "run_id": run_id, "status": status, "workflow_run_id": None, **extra}


def workflow_payload(
    run_id: str = "wr_1",
    status: str = "completed",
    *,
    attempt: int = 1,
    retry_pending: bool = False,
) -> dict[str, Any]:
    return {
        "workflow_id": "w_1",
        "workflow_run_id": run_id,
        "run_id": run_id,
        "status": status,
        "attempt": attempt,
        "retry_pending": retry_pending,
    }


class Pulse:
    """Something to await until a condition on recorded calls holds (no polling)."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def fire(self) -> None:
        event, self._event = self._event, anyio.Event()
        event.set()

    async def until(self, condition: Any, timeout: float = 20.0) -> None:
        with anyio.fail_after(timeout):
            while not condition():
                await self._event.wait()


class Recorder:
    """An `on_delivery` callback that records (run_id, payload, final)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], bool]] = []
        self._pulse = Pulse()

    def __call__(self, run_id: str, payload: dict[str, Any], final: bool) -> None:
        self.calls.append((run_id, payload, final))
        self._pulse.fire()

    @property
    def summary(self) -> list[tuple[str, bool]]:
        return [(run_id, final) for run_id, _, final in self.calls]

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        await self._pulse.until(lambda: len(self.calls) >= count, timeout)


class Warnings:
    """An `on_warning` callback that records each message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._pulse = Pulse()

    def __call__(self, message: str) -> None:
        self.messages.append(message)
        self._pulse.fire()

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        await self._pulse.until(lambda: len(self.messages) >= count, timeout)
