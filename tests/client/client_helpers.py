"""Helpers shared by the client tests: fast retries, a connected client, a webhook receiver."""

from __future__ import annotations

from typing import Any

import anyio

from batchrun.client import HttpRetryPolicy, RunResponse, SkyvernClient

# Tiny delays keep the retry tests fast; Retry-After is capped at max_delay.
FAST_RETRY = HttpRetryPolicy(attempts=6, initial=0.001, factor=2.0, max_delay=0.005, max_total=10)


def client_for(sim: Any, **kwargs: Any) -> SkyvernClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return SkyvernClient(sim.base_url, kwargs.pop("api_key", sim.api_key), **kwargs)


async def wait_final(client: SkyvernClient, run_id: str, timeout: float = 10.0) -> RunResponse:
    with anyio.fail_after(timeout):
        while True:
            run = await client.get_run(run_id)
            if run.is_final:
                return run
            await anyio.sleep(0.02)
