"""Webhook delivery: signed POSTs to a run's `webhook_url` when it finishes, and replays.

One background worker holds a heap of (due time, run) for runs that asked for a webhook and
wakes when the earliest is due, so no timer exists per run. Signing follows
docs/skyvern-api.md §14: HMAC-SHA256
of the exact compact-JSON body with the submitter's API key, lowercase hex.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import itertools
import json
import time
from collections import deque
from typing import Any

import httpx

from batchrun.sim.lifecycle import Run
from batchrun.sim.skyvern import ApiError, SimulatedSkyvern

_RETRYABLE = {403, 408, 425, 429}
_BACKOFF_BASE = 0.05  # Skyvern waits 1 s x 2^n; scaled down so tests stay fast
_MAX_CONCURRENT_DELIVERIES = 16


def compact_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def signed_headers(body: str, api_key: str) -> dict[str, str]:
    signature = hmac.new(api_key.encode(), body.encode(), hashlib.sha256).hexdigest()
    return {
        "x-skyvern-timestamp": str(int(time.time())),
        "x-skyvern-signature": signature,
        "Content-Type": "application/json",
    }


class WebhookSender:
    def __init__(self, skyvern: SimulatedSkyvern) -> None:
        self.skyvern = skyvern
        self._due: list[tuple[float, int, str, str]] = []  # (when, seq, run_id, kind)
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        self._slots = asyncio.Semaphore(_MAX_CONCURRENT_DELIVERIES)
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=10_000)
        skyvern.on_run_created = self.schedule
        skyvern.on_run_canceled = self.send_now
        # A run whose start moved (account concurrency) is due at its new end; the entry
        # already queued for it no longer matches and is skipped when it comes up.
        skyvern.on_run_rescheduled = self.schedule
        now = skyvern.clock()
        for run in skyvern.runs:  # runs loaded from a store, still in flight
            if not run.state_at(now).is_done:
                self.schedule(run)

    def reset(self) -> None:
        self._due.clear()
        self.deliveries.clear()

    def schedule(self, run: Run) -> None:
        if not run.request.get("webhook_url"):
            return
        phases = run.phases
        if phases.final > phases.finish:  # a workflow's failed attempt gets an interim webhook
            self._push(run.created_mono + phases.finish, run, "interim")
        self._push(run.created_mono + phases.final, run, "final")

    def send_now(self, run: Run) -> None:
        """A cancel announces itself at once, like Skyvern's cancel handler."""
        if run.request.get("webhook_url"):
            self._push(0.0, run, "cancel")

    def _push(self, when: float, run: Run, kind: str) -> None:
        heapq.heappush(self._due, (when, next(self._seq), run.run_id, kind))
        self._wakeup.set()

    async def run_forever(self) -> None:
        while True:
            now = self.skyvern.clock()
            while self._due and self._due[0][0] <= now:
                when, _, run_id, kind = heapq.heappop(self._due)
                run = self.skyvern.find(run_id)
                if run is not None and self._still_due(run, kind, when):
                    task = asyncio.get_running_loop().create_task(self._deliver_with_retries(run))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            timeout = self._due[0][0] - now if self._due else None
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout)

    def _still_due(self, run: Run, kind: str, when: float) -> bool:
        state = self.skyvern.state(run)
        if kind == "cancel":
            return True
        phases = run.phases
        if when != run.created_mono + (phases.finish if kind == "interim" else phases.final):
            return False  # the run was rescheduled: a newer entry stands for it
        if kind == "interim":
            return state.retry_pending
        # A run canceled before its scripted end already sent its last word on cancel.
        return state.is_done and not state.canceled

    async def _deliver_with_retries(self, run: Run) -> None:
        async with self._slots:
            body = compact_json(self.payload(run))
            headers = signed_headers(body, run.api_key)
            url = run.request["webhook_url"]
            attempts = max(1, self.skyvern.scenario.webhook_attempts)
            for attempt in range(attempts):
                status_code, _, _, error = await self.post(url, body, headers)
                retry = error is not None or status_code >= 500 or status_code in _RETRYABLE
                if not retry or attempt == attempts - 1:
                    break
                await asyncio.sleep(_BACKOFF_BASE * 2**attempt)
            run.webhooks_sent += 1
            self.deliveries.append(
                {
                    "run_id": run.run_id,
                    "status": json.loads(body).get("status"),
                    "url": url,
                    "attempts": attempt + 1,
                    "status_code": status_code,
                    "error": error,
                }
            )

    async def post(
        self, url: str, body: str, headers: dict[str, str]
    ) -> tuple[int, int, str | None, str | None]:
        """One delivery: (status code or 0, latency ms, response body, error)."""
        started = time.perf_counter()
        try:
            response = await self._client.post(url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            latency = int((time.perf_counter() - started) * 1000)
            return 0, latency, None, f"{type(exc).__name__}: {exc}"
        latency = int((time.perf_counter() - started) * 1000)
        return response.status_code, latency, response.text[:2048], None

    def payload(self, run: Run) -> dict[str, Any]:
        """The flat payload (docs/skyvern-api.md §14): the legacy record and the run response."""
        response = self.skyvern.run_response(run)
        if run.run_type == "task_v2":
            response.pop("run_request", None)
            return response
        if run.is_workflow:
            legacy = {
                "workflow_id": f"w_{run.num}",
                "workflow_run_id": run.run_id,
                "status": response["status"],
                "attempt": response["attempt"],
                "retry_pending": response["retry_pending"],
                "next_attempt_at": response["next_attempt_at"],
                "failure_reason": response["failure_reason"],
                "parameters": run.request.get("parameters") or {},
                "outputs": response["output"],
                "downloaded_file_urls": [f["url"] for f in response["downloaded_files"] or []],
                "total_steps": response["step_count"],
                "workflow_title": response["run_request"]["title"],
            }
            return {**legacy, **response}
        response.pop("run_request", None)
        legacy = {
            "task_id": run.run_id,
            "status": response["status"],
            "created_at": response["created_at"],
            "modified_at": response["modified_at"],
            "extracted_information": response["output"],
            "action_screenshot_urls": response["screenshot_urls"],
            "screenshot_url": (response["screenshot_urls"] or [None])[0],
            "recording_url": response["recording_url"],
            "downloaded_file_urls": [f["url"] for f in response["downloaded_files"] or []],
            "failure_reason": response["failure_reason"],
            "errors": response["errors"],
            "max_steps_per_run": 10,
            "workflow_run_id": None,
            "step_count": response["step_count"],
        }
        return {**legacy, **response}

    async def replay(self, run_id: str, target: str | None, api_key: str) -> dict[str, Any]:
        """`POST /v1/runs/{id}/retry_webhook`: one synchronous delivery and its report."""
        run = self.skyvern.find(run_id)
        if run is None:
            raise ApiError(404, {"detail": f"Run {run_id} not found"})
        state = self.skyvern.state(run)
        if run.is_workflow and (not state.is_final or state.retry_pending):
            raise ApiError(
                409,
                {
                    "detail": f"Run {run_id} is not final; webhook replay is unavailable "
                    "until it is final."
                },
            )
        if not state.is_final:
            raise ApiError(
                400,
                {
                    "detail": f"Run {run.run_id} has not reached a terminal state "
                    f"(status={state.status})."
                },
            )
        default_url = run.request.get("webhook_url")
        url = target or default_url
        if not url:
            raise ApiError(400, {"detail": "No webhook URL configured for the run."})
        body = compact_json(self.payload(run))
        headers = signed_headers(body, api_key)
        status_code, latency, response_body, error = await self.post(url, body, headers)
        return {
            "run_id": run.run_id,
            "run_type": run.run_type,
            "default_webhook_url": default_url,
            "target_webhook_url": url,
            "payload": body,
            "headers": headers,
            "status_code": status_code or None,
            "latency_ms": latency,
            "response_body": response_body,
            "error": error,
        }

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self._client.aclose()
