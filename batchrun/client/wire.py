"""httpx's client API over aiohttp's HTTP/1.1 connections, for the API client's hot path.

Why: with instant runs, httpcore's per-request machinery (pool bookkeeping, anyio stream
wrappers and one cancel scope per socket read and write, h11's pure-Python parsing) was
about 40% of `apply`'s CPU. aiohttp parses HTTP in C and waits on asyncio directly: in
our own benchmark (GET /v1/runs/{id} against the simulator, 100 at once, 32 connections)
a request costs about a tenth of the CPU it costs through httpcore.

Only the network exchange moves. httpx still builds every request (headers, the per-origin
API key, the JSON body) and wraps every answer in an `httpx.Response` (decoding, `.json()`,
`.is_success`), redirects are still followed by `ApiTransport` hop by hop, and failures are
raised as httpx's own exceptions with the same meaning as httpcore's, above all for what
decides whether a create request may have reached the server:

- `httpx.ConnectError` / `httpx.ConnectTimeout` only while no byte of the request can have
  been written (connecting, or waiting for a free connection);
- everything else (a server that hangs up, a read timeout, a reset) says it may have been
  sent, so the create is looked up by its key instead of being submitted again.

aiohttp runs only on asyncio: under another event loop (trio through anyio), and for the
whole life of a transport created there, httpx's own stack is used.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import sniffio
from yarl import URL

from batchrun.client.pool import use_lean_pool_on

# httpx adds these itself to every request (or the caller does); aiohttp must not add its own.
_SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
_CHUNK = 64 * 1024


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncBaseTransport` whose connections are aiohttp's (HTTP/1.1, direct:
    requests that go through an environment proxy use the proxy transports httpx mounts)."""

    def __init__(self, *, limits: httpx.Limits, ssl_context: ssl.SSLContext) -> None:
        self._limits = limits
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fallback: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_this_loop()
        if session is None:
            return await self._fallback_transport().handle_async_request(request)
        timeout = _client_timeout(request.extensions.get("timeout") or {})
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),  # already encoded by httpx: no requoting
                headers=_header_pairs(request.headers),
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
                compress=None,
                chunked=None,
            )
        except Exception as exc:
            mapped = _httpx_error(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_ResponseStream(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": _reason(response)},
        )

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._session = None
        if self._fallback is not None:
            await self._fallback.aclose()

    def _session_for_this_loop(self) -> aiohttp.ClientSession | None:
        if self._fallback is not None:
            return None
        try:
            on_asyncio = sniffio.current_async_library() == "asyncio"
        except sniffio.AsyncLibraryNotFoundError:
            on_asyncio = False
        if not on_asyncio:
            return None
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # A client used from a second event loop (tests run one per test) gets a fresh
            # session there: aiohttp's connections belong to the loop that opened them.
            self._loop = loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limits.max_connections or 0,
                    limit_per_host=0,
                    ssl=self._ssl,
                    keepalive_timeout=self._limits.keepalive_expiry or 5.0,
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the client's cookies
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                trust_env=False,
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                requote_redirect_url=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def _fallback_transport(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            self._fallback = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits)
            use_lean_pool_on(self._fallback)
        return self._fallback


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except Exception as exc:
            mapped = _httpx_error(exc, self._request)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        # Back to the pool when the body was read to its end, closed otherwise (aiohttp's
        # rule, as httpcore's).
        self._response.release()


def _header_pairs(headers: httpx.Headers) -> list[tuple[str, str]]:
    # `Headers.multi_items` looks the encoding up again for every name and value; the
    # bytes httpx holds are what goes on the wire (latin-1 maps each byte to one char).
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _client_timeout(timeout: dict[str, Any]) -> aiohttp.ClientTimeout:
    """httpx's timeouts in aiohttp's terms. aiohttp's `connect` covers waiting for a free
    connection and connecting (httpx's pool + connect); it has no write timeout (requests
    here are small: they fit in the socket's buffer)."""
    connect = timeout.get("connect")
    pool = timeout.get("pool")
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(
        total=None, connect=waiting, sock_connect=connect, sock_read=timeout.get("read")
    )


def _reason(response: aiohttp.ClientResponse) -> bytes:
    return (response.reason or "").encode("latin-1", errors="replace")


def _httpx_error(exc: Exception, request: httpx.Request) -> Exception:
    """aiohttp's failure as the httpx exception httpcore raises for the same event (only
    `Exception`s arrive here: cancellation passes through untouched). Anything not known
    to happen before the request was written says it may have been sent."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)  # nothing was written yet
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)  # nothing was written yet
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message, request=request)
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, ValueError):  # a request aiohttp refuses to write (h11 did the same)
        return httpx.LocalProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return httpx.ReadError(message, request=request)
    return exc
