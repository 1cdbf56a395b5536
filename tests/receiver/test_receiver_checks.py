"""What the receiver accepts and refuses, over real loopback HTTP."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from receiver_helpers import (
    API_KEY,
    Recorder,
    Warnings,
    compact,
    signed_headers,
    task_payload,
    workflow_payload,
)

from batchrun.receiver import ReceiverSettings, WebhookReceiver, serve_receiver

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def receiving(**kwargs: Any) -> AsyncIterator[tuple[WebhookReceiver, Recorder]]:
    recorder = Recorder()
    kwargs.setdefault("on_warning", Warnings())
    async with serve_receiver(api_key=API_KEY, on_delivery=recorder, **kwargs) as receiver:
        yield receiver, recorder


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


async def test_a_valid_delivery_calls_back_with_the_run_and_final():
    body = compact(task_payload("tsk_42", "completed", output={"price": "€3"}))
    async with receiving() as (receiver, recorder):
        response = await post(receiver.url, body, signed_headers(body))
    assert response.status_code == 200
    assert recorder.calls == [("tsk_42", task_payload("tsk_42", output={"price": "€3"}), True)]
    assert receiver.stats.accepted == 1 and receiver.stats.refused_total == 0


async def test_the_url_is_on_loopback_with_a_long_secret_path():
    async with receiving() as (receiver, _):
        first = receiver.url
    async with receiving() as (other, _):
        second = other.url
    assert first.startswith("http://127.0.0.1:")
    path = httpx.URL(first).path
    assert path.startswith("/hooks/") and len(path) == len("/hooks/") + 32
    assert httpx.URL(second).path != path


def _forge(body: bytes) -> dict[str, str]:
    return signed_headers(body, key="someone-elses-key")


def _drop(name: str):
    def headers(body: bytes) -> dict[str, str]:
        return {k: v for k, v in signed_headers(body).items() if k != name}

    return headers


def _timestamp(value: str):
    def headers(body: bytes) -> dict[str, str]:
        return {**signed_headers(body), "x-skyvern-timestamp": value}

    return headers


def _tampered(body: bytes) -> dict[str, str]:
    return signed_headers(body.replace(b"completed", b"failed"))


GOOD = compact(task_payload())


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        pytest.param(GOOD, _forge, 401, "signature", id="forged-signature"),
        pytest.param(GOOD, _tampered, 401, "signature", id="body-changed-after-signing"),
        pytest.param(GOOD, _drop("x-skyvern-signature"), 401, "signature", id="no-signature"),
        pytest.param(GOOD, _drop("x-skyvern-timestamp"), 401, "timestamp", id="no-timestamp"),
        pytest.param(GOOD, _timestamp(str(int(time.time()) - 3600)), 401, "timestamp", id="stale"),
        pytest.param(GOOD, _timestamp(str(int(time.time()) + 3600)), 401, "timestamp", id="future"),
        pytest.param(GOOD, _timestamp("yesterday"), 401, "timestamp", id="garbled-timestamp"),
        pytest.param(b"{not json", signed_headers, 400, "bad_json", id="not-json"),
        pytest.param(b"\xff\xfe", signed_headers, 400, "bad_json", id="not-utf8"),
        pytest.param(compact([1, 2]), signed_headers, 400, "no_run_id", id="json-array"),
        pytest.param(
            compact({"status": "completed"}), signed_headers, 400, "no_run_id", id="no-run-id"
        ),
        pytest.param(
            compact({"run_id": 7, "status": "completed"}),
            signed_headers,
            400,
            "no_run_id",
            id="run-id-not-a-string",
        ),
    ],
)
async def test_invalid_deliveries_are_refused_without_a_callback(body, headers, status, reason):
    async with receiving() as (receiver, recorder):
        response = await post(receiver.url, body, headers(body))
    assert response.status_code == status
    assert recorder.calls == []
    assert receiver.stats.refused == {reason: 1} and receiver.stats.accepted == 0


async def test_an_unknown_path_is_404_and_a_wrong_method_405():
    async with receiving() as (receiver, recorder):
        url = httpx.URL(receiver.url)
        async with httpx.AsyncClient() as client:
            guessed = await client.post(
                str(url.copy_with(path="/hooks/guess")), content=GOOD, headers=signed_headers(GOOD)
            )
            root = await client.post(
                str(url.copy_with(path="/")), content=GOOD, headers=signed_headers(GOOD)
            )
            get = await client.get(receiver.url)
    assert (guessed.status_code, root.status_code) == (404, 404)
    assert get.status_code == 405 and get.headers["allow"] == "POST"
    assert recorder.calls == []
    assert receiver.stats.refused == {"not_found": 2, "method": 1}


SMALL = ReceiverSettings(max_body=1000)


async def test_a_body_declared_too_large_is_refused_413():
    body = compact(task_payload(output="x" * 1500))
    async with receiving(settings=SMALL) as (receiver, recorder):
        response = await post(receiver.url, body, signed_headers(body))
    assert response.status_code == 413
    assert recorder.calls == [] and receiver.stats.refused == {"too_large": 1}


async def test_a_streamed_body_growing_too_large_is_cut_with_413():
    body = compact(task_payload(output="x" * 1500))

    async def chunks() -> AsyncIterator[bytes]:  # no content-length: chunked encoding
        for start in range(0, len(body), 200):
            yield body[start : start + 200]

    async with receiving(settings=SMALL) as (receiver, recorder), httpx.AsyncClient() as client:
        response = await client.post(receiver.url, content=chunks(), headers=signed_headers(body))
    assert response.status_code == 413
    assert recorder.calls == [] and receiver.stats.refused == {"too_large": 1}


async def test_a_body_that_never_finishes_arriving_is_cut_with_408():
    body = compact(task_payload())
    headers = signed_headers(body)
    async with receiving(settings=ReceiverSettings(body_timeout=0.2)) as (receiver, recorder):
        url = httpx.URL(receiver.url)
        head = (
            f"POST {url.path} HTTP/1.1\r\nhost: {url.host}\r\ncontent-length: {len(body)}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + "\r\n"
        ).encode()

        def trickle() -> bytes:
            with socket.create_connection((url.host, url.port)) as sock:
                sock.sendall(head + body[:10])  # and never the rest
                sock.settimeout(10)
                return sock.recv(1024)

        answer = await anyio.to_thread.run_sync(trickle)
    assert answer.startswith(b"HTTP/1.1 408")
    assert recorder.calls == [] and receiver.stats.refused == {"body_timeout": 1}


async def test_a_flood_over_the_rate_cap_gets_429_with_retry_after():
    # A refill of one token per 100 s: the 4th request is over the cap however slow the host.
    settings = ReceiverSettings(rate=0.01, burst=3)
    async with receiving(settings=settings) as (receiver, recorder):
        bodies = [compact(task_payload(f"tsk_{n}")) for n in range(6)]
        async with httpx.AsyncClient() as client:
            responses = [
                await client.post(receiver.url, content=body, headers=signed_headers(body))
                for body in bodies
            ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses[3:])
    assert recorder.summary == [("tsk_0", True), ("tsk_1", True), ("tsk_2", True)]
    assert receiver.stats.refused == {"rate_limited": 3}


async def test_an_interim_retry_pending_payload_is_not_final():
    interim = compact(workflow_payload("wr_9", "failed", attempt=1, retry_pending=True))
    final = compact(workflow_payload("wr_9", "completed", attempt=2))
    running = compact(task_payload("tsk_3", "running"))
    async with receiving() as (receiver, recorder):
        for body in (interim, running, final):
            assert (await post(receiver.url, body, signed_headers(body))).status_code == 200
    assert recorder.summary == [("wr_9", False), ("tsk_3", False), ("wr_9", True)]


async def test_repeated_deliveries_answer_200_and_call_back_once():
    body = compact(workflow_payload("wr_1", "completed", attempt=2))
    later = compact({**workflow_payload("wr_1", "completed", attempt=2), "total_cost": 0.2})
    canceled = compact(workflow_payload("wr_1", "canceled", attempt=2))
    async with receiving() as (receiver, recorder):
        statuses = [
            (await post(receiver.url, b, signed_headers(b))).status_code
            for b in (body, body, later, canceled)
        ]
    assert statuses == [200, 200, 200, 200]
    # The same run, status and attempt is the same news; a cancel after the end is not.
    assert recorder.summary == [("wr_1", True), ("wr_1", True)]
    assert [call[1]["status"] for call in recorder.calls] == ["completed", "canceled"]
    assert (receiver.stats.accepted, receiver.stats.duplicates) == (2, 2)


@pytest.mark.parametrize(
    ("payload", "run_id"),
    [
        pytest.param({"task_id": "tsk_1", "workflow_run_id": None}, "tsk_1", id="legacy-task"),
        pytest.param(
            {"task_id": "tsk_v2_1", "workflow_run_id": "wr_7"}, "tsk_v2_1", id="legacy-v2"
        ),
        pytest.param({"workflow_id": "w", "workflow_run_id": "wr_2"}, "wr_2", id="workflow"),
        pytest.param({"run_id": "wr_3", "task_id": "x"}, "wr_3", id="run-id-wins"),
    ],
)
async def test_the_run_id_falls_back_to_the_legacy_keys(payload, run_id):
    body = compact({**payload, "status": "completed"})
    async with receiving() as (_, recorder):
        await post(_.url, body, signed_headers(body))
    assert recorder.summary == [(run_id, True)]


async def test_a_rotated_key_list_accepts_a_delivery_signed_with_any_of_them():
    body = compact(task_payload())
    recorder = Recorder()
    async with serve_receiver(api_key=["old", "new"], on_delivery=recorder) as receiver:
        response = await post(receiver.url, body, signed_headers(body, key="new"))
    assert response.status_code == 200 and recorder.summary == [("tsk_1", True)]


async def test_a_failing_callback_answers_500_so_the_delivery_comes_again():
    fails = [True]
    calls: list[str] = []

    def flaky(run_id: str, payload: dict[str, Any], final: bool) -> None:
        calls.append(run_id)
        if fails.pop(0) if fails else False:
            raise RuntimeError("boom")

    warnings = Warnings()
    body = compact(task_payload())
    async with serve_receiver(api_key=API_KEY, on_delivery=flaky, on_warning=warnings) as rx:
        first = await post(rx.url, body, signed_headers(body))
        second = await post(rx.url, body, signed_headers(body))
    assert (first.status_code, second.status_code) == (500, 200)
    assert calls == ["tsk_1", "tsk_1"] and rx.stats.accepted == 1
    assert warnings.messages == ["webhook callback failed for run tsk_1: RuntimeError: boom"]
