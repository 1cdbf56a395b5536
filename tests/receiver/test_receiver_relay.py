"""Relaying valid deliveries to the spec's own webhook_url, over real loopback HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from receiver_helpers import API_KEY, Recorder, Warnings, compact, signed_headers, task_payload
from webhook_receiver import WebhookReceiver as Endpoint

from batchrun.receiver import ReceiverSettings, ReceiverStats, WebhookReceiver, serve_receiver
from batchrun.receiver.relay import Relay, RelayJob

pytestmark = pytest.mark.anyio

QUICK = ReceiverSettings(relay_backoff=(0.0,))  # retries without the real 1 s / 2 s waits


async def deliver(
    bodies: list[bytes],
    relay_target: Any,
    *,
    settings: ReceiverSettings = QUICK,
    extra_headers: dict[str, str] | None = None,
) -> tuple[ReceiverStats, Warnings, list[int]]:
    """Post each body, then leave the receiver: leaving waits for the relays (the grace)."""
    warnings = Warnings()
    statuses = []
    async with (
        serve_receiver(
            api_key=API_KEY,
            on_delivery=Recorder(),
            relay_target=relay_target,
            on_warning=warnings,
            settings=settings,
        ) as receiver,
        httpx.AsyncClient() as client,
    ):
        for body in bodies:
            headers = {**signed_headers(body), **(extra_headers or {})}
            response = await client.post(receiver.url, content=body, headers=headers)
            statuses.append(response.status_code)
    return receiver.stats, warnings, statuses


@pytest.fixture
def endpoint() -> Iterator[Any]:
    """A factory for loopback endpoints answering scripted statuses (then 200)."""
    started: list[Endpoint] = []

    def start(statuses: list[int] | None = None) -> Endpoint:
        started.append(Endpoint(statuses))
        return started[-1]

    yield start
    for server in started:
        server.close()


async def test_a_delivery_is_relayed_byte_for_byte_with_its_signature_headers(endpoint):
    target = endpoint()
    body = compact(task_payload("tsk_7", output={"name": "Zoë", "n": 1}))
    headers = signed_headers(body)
    stats, warnings, statuses = await deliver(
        [body], lambda run_id: target.url, extra_headers={**headers, "x-private": "no"}
    )
    assert statuses == [200]
    (relayed,) = target.received
    assert relayed["body"] == body
    got = {name.lower(): value for name, value in relayed["headers"].items()}
    for name in ("x-skyvern-signature", "x-skyvern-timestamp", "content-type"):
        assert got[name] == headers[name]
    assert "x-private" not in got
    assert (stats.relayed, stats.relay_failed, warnings.messages) == (1, 0, [])


async def test_only_runs_with_a_target_and_only_new_deliveries_are_relayed(endpoint):
    target = endpoint()
    asked: list[str] = []

    def relay_target(run_id: str) -> str | None:
        asked.append(run_id)
        return target.url if run_id == "tsk_mine" else None

    mine, other = compact(task_payload("tsk_mine")), compact(task_payload("tsk_other"))
    forged = compact(task_payload("tsk_forged"))
    stats, _, statuses = await deliver([mine, other, mine], relay_target)
    assert statuses == [200, 200, 200]
    assert asked == ["tsk_mine", "tsk_other"]  # the repeat is neither looked up nor relayed
    assert target.bodies == [mine] and stats.relayed == 1
    _, _, refused = await deliver(
        [forged], relay_target, extra_headers={"x-skyvern-signature": "0" * 64}
    )
    assert refused == [401] and asked == ["tsk_mine", "tsk_other"]


async def test_a_failing_target_is_retried_until_it_recovers(endpoint):
    target = endpoint([503, 429])
    body = compact(task_payload())
    stats, warnings, _ = await deliver([body], lambda _: target.url)
    assert target.bodies == [body, body, body]
    assert (stats.relayed, stats.relay_failed, warnings.messages) == (1, 0, [])


async def test_a_target_failing_every_try_gives_up_with_a_warning(endpoint):
    target = endpoint([500, 502, 503, 200])
    stats, warnings, _ = await deliver([compact(task_payload())], lambda _: target.url)
    assert len(target.received) == 3  # relay_attempts; the 200 after is never reached
    assert (stats.relayed, stats.relay_failed) == (0, 1)
    assert warnings.messages == [
        f"relaying the webhook of run tsk_1 to {target.url} failed after 3 tries: HTTP 503"
    ]


async def test_a_target_refusing_outright_is_not_retried(endpoint):
    target = endpoint([404])
    stats, warnings, _ = await deliver([compact(task_payload())], lambda _: target.url)
    assert len(target.received) == 1 and stats.relay_failed == 1
    assert warnings.messages[0].endswith("failed after 1 try: HTTP 404")


async def test_an_unreachable_target_is_retried_then_given_up():
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
        stats, warnings, statuses = await deliver([compact(task_payload())], lambda _: url)
    assert statuses == [200] and stats.relay_failed == 1
    assert "failed after 3 tries: ConnectError" in warnings.messages[0]


async def test_relays_still_pending_at_stop_are_dropped_after_the_grace_period():
    # A target that accepts connections (the backlog) but never answers: the relay hangs.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        settings = ReceiverSettings(relay_grace=0.2, relay_workers=1)
        bodies = [compact(task_payload(f"tsk_{n}")) for n in range(3)]
        stats, warnings, statuses = await deliver(bodies, lambda _: url, settings=settings)
    assert statuses == [200, 200, 200]  # answering never waited on the relay
    assert (stats.relayed, stats.relay_failed, stats.relay_dropped) == (0, 0, 3)
    assert warnings.messages == [
        "3 webhook relay(s) still pending when the receiver stopped were dropped "
        "(`batchrun webhooks replay` can send them again)"
    ]


def _job(n: int, size: int = 2) -> RelayJob:
    return RelayJob(f"tsk_{n}", f"http://127.0.0.1:9/{n}", b"x" * size, {})


async def test_a_full_relay_queue_drops_its_oldest_job():
    stats, warnings = ReceiverStats(), Warnings()
    relay = Relay(ReceiverSettings(relay_queue=2, relay_queue_bytes=100), stats, warnings)
    for n in range(3):
        relay.submit(_job(n))
    assert relay.pending == 2 and stats.relay_dropped == 1
    assert warnings.messages == [
        "webhook relay queue full (2 relays or 100 bytes): dropped the relay of run tsk_0 "
        "to http://127.0.0.1:9/0"
    ]


async def test_a_relay_queue_full_of_bytes_drops_the_oldest_until_the_new_one_fits():
    stats, warnings = ReceiverStats(), Warnings()
    relay = Relay(ReceiverSettings(relay_queue=10, relay_queue_bytes=100), stats, warnings)
    for n, size in enumerate((40, 40, 10, 70)):
        relay.submit(_job(n, size))
    assert relay.pending == 2 and stats.relay_dropped == 2  # 40 + 40 went; 10 + 70 fit
    assert [m.split(" run ")[1].split()[0] for m in warnings.messages] == ["tsk_0", "tsk_1"]


async def test_relays_pending_when_the_callers_scope_is_cancelled_are_counted_dropped():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
        warnings = Warnings()
        body = compact(task_payload())
        receiver = WebhookReceiver(
            api_key=API_KEY,
            on_delivery=Recorder(),
            relay_target=lambda _: url,
            on_warning=warnings,
            settings=ReceiverSettings(relay_workers=1),
        )
        async with anyio.create_task_group() as tg:
            await tg.start(receiver.serve)
            async with httpx.AsyncClient() as client:
                for _ in range(2):  # a repeat is not relayed: one relay, hanging
                    await client.post(receiver.url, content=body, headers=signed_headers(body))
            tg.cancel_scope.cancel()
    assert receiver.stats.relay_dropped == 1
    assert warnings.messages[0].startswith("1 webhook relay(s) still pending")


async def test_a_target_lookup_that_raises_only_skips_the_relay():
    def broken(run_id: str) -> str | None:
        raise KeyError(run_id)

    stats, warnings, statuses = await deliver([compact(task_payload())], broken)
    assert statuses == [200] and stats.accepted == 1 and stats.relayed == 0
    assert warnings.messages == ["webhook relay target lookup failed for run tsk_1: 'tsk_1'"]


async def test_an_invalid_target_url_fails_without_retries():
    stats, warnings, _ = await deliver([compact(task_payload())], lambda _: "http://")
    assert stats.relay_failed == 1 and "failed after 1 try" in warnings.messages[0]
