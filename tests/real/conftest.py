"""Fixtures of the real-server suite: each check runs against the simulator (in `make test`)
and against the real Skyvern server (marker `real`, `make test-real`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from real_backends import SIM_SCENARIO, Backend, LocalSkyvern
from real_workspace import RealWorkspace
from webhook_receiver import WebhookReceiver

from batchrun.sim import start_simulator


@pytest.fixture(scope="session")
def real_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The real server, started once per session (only when a `real` test asks for it)."""
    server = LocalSkyvern(tmp_path_factory.mktemp("skyvern-local"))
    backend = server.start()
    try:
        yield backend
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sim_backend() -> Iterator[Backend]:
    with start_simulator(SIM_SCENARIO, api_key="real-suite-key") as sim:
        yield Backend(
            name="sim",
            base_url=sim.base_url,
            api_key=sim.api_key,
            site_url="http://127.0.0.1:8765/",
            poll={"interval": "0.2s", "max_interval": "0.5s"},
        )


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.real)])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture
def workspace(tmp_path: Path, backend: Backend) -> RealWorkspace:
    return RealWorkspace(tmp_path, backend)


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
