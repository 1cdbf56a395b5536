"""The API client's own HTTP/1.1 transport, against real loopback servers: connection reuse
and its limits, every way a response body can be framed, and what each failure means."""

from __future__ import annotations

import gzip
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from client_helpers import client_for
from raw_http import answer, keep_answering, read_request, serve

from batchrun.client import (
    AmbiguousSubmitError,
    HttpRetryPolicy,
    SkyvernClient,
    TransportError,
    http11,
)
from batchrun.client.http11 import Http11Transport
from batchrun.client.transport import MAX_CONNECTIONS

pytestmark = pytest.mark.anyio

TASK = {"prompt": "find the price", "url": "https://shop.test/item"}
NO_RETRY = HttpRetryPolicy(attempts=1)


@asynccontextmanager
async def http_client(
    max_connections: int = 4, **kwargs: object
) -> AsyncIterator[httpx.AsyncClient]:
    transport = Http11Transport(max_connections=max_connections, **kwargs)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


# -- reuse and limits ----------------------------------------------------------------------


async def test_the_api_client_uses_it_and_stays_within_its_limit(simulator) -> None:
    sim = simulator({"seed": 3, "rules": [{"match": {}, "duration": 0}]})
    async with client_for(sim) as client:
        transport = client._transport._http._transport
        assert type(transport) is Http11Transport
        runs = [await client.run_task(TASK) for _ in range(5)]
        seen: list[str] = []
        most = 0

        async def read(run_id: str) -> None:
            nonlocal most
            seen.append((await client.get_run(run_id)).run_id)
            most = max(most, transport.open_connections)

        async with anyio.create_task_group() as group:
            for index in range(300):  # far more requests at once than connections
                group.start_soon(read, runs[index % 5].run_id)
        assert sorted(set(seen)) == sorted(run.run_id for run in runs)
        assert len(seen) == 300
        assert 1 < most <= MAX_CONNECTIONS
    assert transport.open_connections == 0  # closing the client closed every connection


async def test_one_kept_alive_connection_carries_request_after_request() -> None:
    with serve(keep_answering(lambda request: answer(b'"ok"'))) as (url, accepted):
        async with http_client() as client:
            for _ in range(5):
                assert (await client.get(url + "/v1/runs")).json() == "ok"
    assert len(accepted) == 1


@pytest.fixture
def one_shot_server() -> Iterator[tuple[str, list[int]]]:
    """Answers one request per connection, then hangs up without saying so (no
    `Connection: close`): the client's idle connection goes stale."""

    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with serve(handle) as served:
        yield served


async def test_a_connection_the_server_closed_while_idle_is_not_reused(one_shot_server) -> None:
    url, accepted = one_shot_server
    async with http_client() as client:
        for _ in range(5):
            assert (await client.get(url)).text == "ok"
            await anyio.sleep(0.05)  # let the hang-up reach the idle socket
    assert len(accepted) == 5  # each request on a fresh connection, none failed


async def test_an_idle_connection_past_its_keep_alive_is_not_reused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http11, "KEEPALIVE_EXPIRY_S", 0.05)
    with serve(keep_answering(lambda request: answer(b'"ok"'))) as (url, accepted):
        async with http_client() as client:
            await client.get(url)
            await client.get(url)  # at once: the same connection
            await anyio.sleep(0.1)
            await client.get(url)  # past the expiry: a new one
    assert len(accepted) == 2


@pytest.mark.parametrize(
    "closing",
    [b"HTTP/1.1 200 OK\r\nConnection: close\r\n", b"HTTP/1.0 200 OK\r\n"],
    ids=["connection-close", "http-1.0"],
)
async def test_a_response_that_says_it_closes_is_not_reused(closing: bytes) -> None:
    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(closing + b"Content-Length: 2\r\n\r\nok")

    with serve(handle) as (url, accepted):
        async with http_client() as client:
            for _ in range(3):
                assert (await client.get(url)).text == "ok"  # no pause: known, not detected
    assert len(accepted) == 3


async def test_requests_beyond_the_limit_wait_and_give_up_as_a_pool_timeout() -> None:
    release = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_request(conn)
        release.wait(10)
        conn.sendall(answer(b'"late"'))

    with serve(handle) as (url, _):
        async with http_client(max_connections=1) as client:
            first: list[httpx.Response] = []
            async with anyio.create_task_group() as group:

                async def hold() -> None:
                    first.append(await client.get(url))

                group.start_soon(hold)
                await anyio.sleep(0.1)
                with pytest.raises(httpx.PoolTimeout):
                    await client.get(url, timeout=httpx.Timeout(5.0, pool=0.1))
                release.set()
            assert first[0].json() == "late"
            assert client._transport.open_connections == 1  # type: ignore[attr-defined]


async def test_a_request_given_up_mid_exchange_frees_its_connection() -> None:
    held: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        if len(held) == 0:
            read_request(conn)
            held.append(conn.dup())  # the first request never gets an answer
        else:
            keep_answering(lambda request: answer())(conn)

    with serve(handle) as (url, accepted):
        async with http_client(max_connections=1) as client:
            with anyio.move_on_after(0.2):
                await client.get(url)
            transport = client._transport
            assert transport.open_connections == 0  # type: ignore[attr-defined]
            assert (await client.get(url, timeout=2.0)).json() == {}
    assert len(accepted) == 2
    for conn in held:
        conn.close()


async def test_requests_canceled_while_waiting_are_passed_over() -> None:
    # Ctrl-C cancels every request at once: those waiting for a connection are canceled
    # before the one holding it lets go, and must not be handed its slot.
    held: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        while read_request(conn):
            if not held:
                held.append(conn.dup())  # the first request never gets an answer
                return
            conn.sendall(answer())

    with serve(handle) as (url, _):
        async with http_client(max_connections=1) as client:
            transport = client._transport
            with anyio.move_on_after(0.3):
                async with anyio.create_task_group() as group:
                    for _ in range(5):  # one holds the connection, four wait
                        group.start_soon(client.get, url)
            assert transport.open_connections == 0  # type: ignore[attr-defined]
            assert not transport._waiters  # type: ignore[attr-defined]
            assert (await client.get(url, timeout=2.0)).json() == {}
    for conn in held:
        conn.close()


# -- how a body is framed --------------------------------------------------------------------


async def test_a_chunked_gzip_body_with_extensions_and_trailers_is_read_whole() -> None:
    body = gzip.compress(b'{"price": "4.50"}' * 2000)
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    chunked = b"".join(b"%x;note=x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
    response = head + chunked + b"0\r\nX-Trailer: yes\r\n\r\n"
    with serve(keep_answering(lambda request: response)) as (url, accepted):
        async with http_client() as client:
            for _ in range(2):  # and the connection is reusable after it
                got = await client.get(url)
                assert got.content == b'{"price": "4.50"}' * 2000
    assert len(accepted) == 1


async def test_a_long_body_is_streamed_in_pieces_and_one_without_length_until_hang_up() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: past what is read at once

    def handle(conn: socket.socket) -> None:
        request = read_request(conn)
        if b"GET /long" in request:
            head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            conn.sendall(head % len(big) + big)
        else:
            conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + big)  # ends when the server hangs up

    with serve(handle) as (url, _):
        async with http_client() as client:
            async with client.stream("GET", url + "/long") as response:
                parts = [part async for part in response.aiter_raw()]
            assert b"".join(parts) == big and len(parts) > 1
            assert (await client.get(url + "/until-close")).content == big


async def test_interim_answers_no_content_and_head_have_no_body() -> None:
    def respond(request: bytes) -> bytes:
        if request.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
        if b"/empty" in request:
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        return b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b'"after 100"')

    with serve(keep_answering(respond)) as (url, accepted):
        async with http_client() as client:
            assert (await client.head(url)).content == b""
            empty = await client.get(url + "/empty")
            assert (empty.status_code, empty.content) == (204, b"")
            assert (await client.get(url)).json() == "after 100"
            assert (await client.head(url)).headers["content-length"] == "99"
    assert len(accepted) == 1


# -- what a failure means ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cut',
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"cut',
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    ],
    ids=["cut-body", "cut-chunk", "cut-head", "not-http", "two-lengths"],
)
async def test_a_broken_answer_means_the_create_may_have_happened(reply: bytes) -> None:
    def handle(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(reply)

    with serve(handle) as (url, _):
        async with SkyvernClient(url, "k", retry=NO_RETRY) as client:
            with pytest.raises(AmbiguousSubmitError):
                await client.run_task(TASK)
            with pytest.raises(TransportError) as raised:
                await client.get_run("tsk_1")
            assert raised.value.request_sent is True
            assert client._transport._http._transport.open_connections == 0


async def test_a_refused_connection_means_nothing_was_sent() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nobody listens there now
    async with SkyvernClient(f"http://127.0.0.1:{port}", "k", retry=NO_RETRY) as client:
        with pytest.raises(TransportError) as raised:
            await client.run_task(TASK)  # plain, not ambiguous: no run can exist
        assert raised.value.request_sent is False
        assert client._transport._http._transport.open_connections == 0


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl is part of the base system)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_checks_the_certificate_with_the_environments_authorities(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    heads: list[bytes] = []

    def respond(request: bytes) -> bytes:
        heads.append(request)
        return answer(b"[]")

    with serve(keep_answering(respond), tls=server_tls) as (url, accepted):
        # Unknown authority: the connection is refused before anything is sent.
        async with SkyvernClient(url, "secret", retry=NO_RETRY) as client:
            with pytest.raises(TransportError) as raised:
                await client.run_task(TASK)
            assert raised.value.request_sent is False
        assert heads == []
        # SSL_CERT_FILE names it (as httpx honours it): trusted, and the key goes along.
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        async with SkyvernClient(url, "secret", retry=NO_RETRY) as client:
            await client.check_access()
            await client.check_access()
    assert len(heads) == 2 and b"x-api-key: secret" in heads[0].lower()
    assert len(accepted) == 2  # the refused handshake, then one connection for both calls
