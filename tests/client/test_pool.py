"""The lean connection pool: installed on the client, bounded, and safe with connections
the server closed while they sat idle."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import anyio
import httpx
import pytest
from client_helpers import client_for

from batchrun.client.pool import LeanConnectionPool, use_lean_pool
from batchrun.client.transport import POOL_LIMITS

pytestmark = pytest.mark.anyio

TASK = {"prompt": "find the price", "url": "https://shop.test/item"}


async def test_the_client_uses_the_lean_pool_and_stays_within_its_limit(simulator) -> None:
    sim = simulator({"seed": 3, "rules": [{"match": {}, "duration": 0}]})
    async with client_for(sim) as client:
        pool = client._transport._http._transport._pool
        assert type(pool) is LeanConnectionPool
        runs = [await client.run_task(TASK) for _ in range(5)]
        seen: list[str] = []

        async def read(run_id: str) -> None:
            seen.append((await client.get_run(run_id)).run_id)

        async with anyio.create_task_group() as group:
            for index in range(300):  # far more requests at once than connections
                group.start_soon(read, runs[index % 5].run_id)
        assert len(seen) == 300
        assert len(pool.connections) <= POOL_LIMITS.max_connections


@pytest.fixture
def one_shot_server() -> Iterator[tuple[str, list[int]]]:
    """An HTTP/1.1 server that answers one request per connection and then hangs up without
    saying so (no `Connection: close`): the client's idle connection goes stale."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/", accepted
    listener.close()


async def test_a_connection_the_server_closed_while_idle_is_not_reused(one_shot_server) -> None:
    url, accepted = one_shot_server
    async with httpx.AsyncClient(limits=POOL_LIMITS) as client:
        use_lean_pool(client)
        for _ in range(5):
            response = await client.get(url)
            assert response.text == "ok"
            await anyio.sleep(0.05)  # let the hang-up reach the idle socket
    assert len(accepted) == 5  # each request on a fresh connection, none failed
