"""HTTP-level retries: idempotent calls ride out 429 storms, 5xx and dropped connections;
run creation is never retried and says whether a run may exist."""

from __future__ import annotations

import pytest
from client_helpers import client_for

from batchrun.client import (
    AmbiguousSubmitError,
    HttpRetryPolicy,
    RateLimitedError,
    ServerBusyError,
    ServerError,
    TransportError,
)

pytestmark = pytest.mark.anyio

PATIENT = HttpRetryPolicy(attempts=40, initial=0.001, factor=2.0, max_delay=0.005, max_total=30)
TASK = {"prompt": "find the price", "url": "https://shop.test/item"}


def _faults(**faults: object) -> dict[str, object]:
    return {"seed": 11, "faults": faults}


async def test_429_storm_on_reads_is_ridden_out_and_reported(simulator) -> None:
    sim = simulator(
        _faults(rate_limit=0.6, retry_after=0.001, retry_after_rate=0.5, endpoints=["get", "list"])
    )
    throttles: list[float | None] = []
    async with client_for(sim, retry=PATIENT, on_throttle=throttles.append) as client:
        run = await client.run_task(TASK)
        for _ in range(15):
            assert (await client.get_run(run.run_id)).run_id == run.run_id
            await client.list_runs()
    injected = sim.stats()["faults_injected"]["rate_limit"]
    assert injected >= 10
    assert len(throttles) == injected  # every 429 seen was reported
    assert None in throttles and 0.001 in throttles  # with and without Retry-After


async def test_server_errors_on_reads_are_retried(simulator) -> None:
    sim = simulator(_faults(server_error=0.5, endpoints=["get", "artifacts", "timeline"]))
    async with client_for(sim, retry=PATIENT) as client:
        run = await client.run_task(TASK)
        for _ in range(10):
            await client.get_run(run.run_id)
            await client.get_run_artifacts(run.run_id)
    injected = sim.stats()["faults_injected"]
    assert sum(count for kind, count in injected.items() if kind.startswith("server_error")) >= 5


async def test_dropped_connections_on_reads_are_retried(simulator) -> None:
    sim = simulator(_faults(drop=0.5, endpoints=["get", "cancel"]))
    async with client_for(sim, retry=PATIENT) as client:
        run = await client.run_task(TASK)
        for _ in range(10):
            await client.get_run(run.run_id)
        await client.cancel_run(run.run_id)
    assert sim.stats()["faults_injected"]["drop"] >= 5


async def test_retries_are_bounded_in_attempts(simulator) -> None:
    sim = simulator(_faults(rate_limit=1.0, retry_after=None, endpoints=["list"]))
    policy = HttpRetryPolicy(attempts=4, initial=0.001, max_delay=0.005)
    throttles: list[float | None] = []
    async with client_for(sim, retry=policy, on_throttle=throttles.append) as client:
        with pytest.raises(RateLimitedError) as raised:
            await client.list_runs()
    assert raised.value.retry_after is None
    assert sim.stats()["requests_by_route"]["list"] == 4
    assert throttles == [None] * 4


async def test_retries_are_bounded_in_time(simulator) -> None:
    # Retry-After 1 s, honoured, would end past max_total: give up instead of sleeping.
    sim = simulator(_faults(rate_limit=1.0, retry_after=1, retry_after_rate=1.0, endpoints=["get"]))
    policy = HttpRetryPolicy(attempts=10, initial=0.001, max_delay=5.0, max_total=0.5)
    async with client_for(sim, retry=policy) as client:
        with pytest.raises(RateLimitedError) as raised:
            await client.get_run("tsk_1")
    assert raised.value.retry_after == 1.0
    assert sim.stats()["requests_by_route"]["get"] == 1


async def test_webhook_replay_is_not_repeated_once_the_request_was_sent(simulator) -> None:
    sim = simulator(_faults(drop=1.0, endpoints=["retry_webhook"]))
    async with client_for(sim, retry=PATIENT) as client:
        run = await client.run_task(TASK)
        with pytest.raises(TransportError):
            await client.retry_run_webhook(run.run_id, "http://127.0.0.1:9/hook")
    assert sim.stats()["requests_by_route"]["retry_webhook"] == 1


async def test_rate_limited_create_is_not_retried_and_created_nothing(simulator) -> None:
    sim = simulator(_faults(rate_limit=1.0, retry_after=None, endpoints=["create"]))
    throttles: list[float | None] = []
    async with client_for(sim, retry=PATIENT, on_throttle=throttles.append) as client:
        with pytest.raises(RateLimitedError):
            await client.run_task(TASK)
    stats = sim.stats()
    assert stats["requests_by_route"]["create"] == 1
    assert stats["runs_created"] == 0
    assert throttles == [None]


async def test_5xx_on_task_create_is_ambiguous_and_never_resent(simulator) -> None:
    sim = simulator(_faults(server_error=1.0, endpoints=["create"]))
    async with client_for(sim, retry=PATIENT) as client:
        for _ in range(12):
            with pytest.raises(AmbiguousSubmitError) as raised:
                await client.run_task(TASK)
            assert isinstance(raised.value.cause, ServerError | ServerBusyError)
    stats = sim.stats()
    assert stats["requests_by_route"]["create"] == 12
    assert {"server_error_500", "server_error_502", "server_error_503"} <= set(
        stats["faults_injected"]
    )


async def test_submission_gate_503_on_workflow_create_says_no_run(simulator) -> None:
    sim = simulator(_faults(server_error=1.0, endpoints=["create"]))
    seen: set[type] = set()
    async with client_for(sim, retry=PATIENT) as client:
        for _ in range(12):
            try:
                await client.run_workflow({"workflow_id": "wpid_1"})
            except ServerBusyError as error:  # the gate: "No run was created"
                assert error.retry_after == 5.0
                seen.add(ServerBusyError)
            except AmbiguousSubmitError as error:  # 500 / 502
                assert error.status_code in (500, 502)
                seen.add(AmbiguousSubmitError)
    assert seen == {ServerBusyError, AmbiguousSubmitError}
    assert sim.stats()["requests_by_route"]["create"] == 12


async def test_dropped_create_is_ambiguous_and_never_resent(simulator) -> None:
    sim = simulator(_faults(drop=1.0, drop_after_create=0.5, endpoints=["create"]))
    async with client_for(sim, retry=PATIENT) as client:
        for _ in range(6):
            with pytest.raises(AmbiguousSubmitError) as raised:
                await client.run_task(TASK)
            assert isinstance(raised.value.cause, TransportError)
            assert raised.value.cause.request_sent
    assert sim.stats()["requests_by_route"]["create"] == 6
