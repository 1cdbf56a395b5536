"""What a failed exchange with the API means, against real loopback servers:
a create that may have reached the server is ambiguous (looked up by its key, never paid
twice), one that could not have is a plain transport error."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from raw_http import answer, read_request, serve

from batchrun.client import AmbiguousSubmitError, HttpRetryPolicy, SkyvernClient, TransportError

pytestmark = pytest.mark.anyio

NO_RETRY = HttpRetryPolicy(attempts=1)


@pytest.fixture
def hangs_up_after_the_request() -> Iterator[str]:
    """Reads the whole request, then closes without a word: it may have acted on it."""
    with serve(lambda conn: read_request(conn) and None) as (url, _):
        yield url


@pytest.fixture
def never_answers() -> Iterator[str]:
    """Reads the request and keeps the connection open, silent."""
    held: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        read_request(conn)
        held.append(conn.dup())

    with serve(handle) as (url, _):
        yield url
    for conn in held:
        conn.close()


async def test_a_hang_up_after_the_request_makes_a_create_ambiguous(
    hangs_up_after_the_request: str,
) -> None:
    async with SkyvernClient(hangs_up_after_the_request, "k", retry=NO_RETRY) as client:
        with pytest.raises(AmbiguousSubmitError):
            await client.run_task({"prompt": "p"})
        with pytest.raises(TransportError) as raised:
            await client.get_run("tsk_1")
        assert raised.value.request_sent is True
        assert raised.value.timed_out is False


async def test_a_silent_server_is_a_read_timeout_that_may_have_sent(never_answers: str) -> None:
    timeout = httpx.Timeout(connect=2.0, read=0.2, write=2.0, pool=2.0)
    async with SkyvernClient(never_answers, "k", retry=NO_RETRY, timeout=timeout) as client:
        with pytest.raises(TransportError) as raised:
            await client.get_run("tsk_1")
        assert raised.value.timed_out is True
        assert raised.value.request_sent is True
        with pytest.raises(AmbiguousSubmitError):
            await client.run_task({"prompt": "p"})


@pytest.fixture
def sets_a_cookie() -> Iterator[tuple[str, list[bytes]]]:
    """Answers every request, the first with a Set-Cookie; records each request's head."""
    heads: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        heads.append(read_request(conn))
        cookie = b"Set-Cookie: lb=node-7; Path=/\r\n" if len(heads) == 1 else b""
        conn.sendall(answer(extra=cookie + b"Connection: close\r\n"))

    with serve(handle) as (url, _):
        yield url, heads


async def test_a_cookie_the_api_sets_comes_back_on_later_requests(sets_a_cookie) -> None:
    # The client's jar reads only responses that set a cookie: one that does still counts.
    url, heads = sets_a_cookie
    async with SkyvernClient(url, "k", retry=NO_RETRY) as client:
        await client.check_access()
        await client.check_access()
    assert b"cookie: lb=node-7" not in heads[0].lower()
    assert b"cookie: lb=node-7" in heads[1].lower()


@pytest.fixture
def recording_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """An HTTP proxy stand-in: answers every request itself and records its head."""
    heads: list[bytes] = []

    def handle(conn: socket.socket) -> None:
        heads.append(read_request(conn))
        conn.sendall(answer(extra=b"Connection: close\r\n"))

    with serve(handle) as (url, _):
        yield url, heads


async def test_an_environment_proxy_still_carries_the_api_requests(
    recording_proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx's proxy transports, built from the environment, carry the API requests: the
    # client's own connection pool is for direct requests only.
    proxy, heads = recording_proxy
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    async with SkyvernClient("http://api.invalid", "k", retry=NO_RETRY) as client:
        await client.check_access()
    assert heads and heads[0].startswith(b"GET http://api.invalid/v1/runs?")
