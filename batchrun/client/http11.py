"""HTTP/1.1 on asyncio streams, as an httpx transport: the API client's direct connections.

httpx's own transport (httpcore, h11, anyio's stream wrappers) spends about half of what
`apply` costs per task with instant runs: per request it walks its pool, builds event
objects for every part of the exchange and wraps every socket call (BENCHMARKS.md). A batch
needs little of that generality: one or a few origins, small JSON bodies, keep-alive. This
transport writes a request in one `write` and reads a response head with one `readuntil`;
httpx still builds requests and responses, decodes bodies, keeps cookies and carries every
proxied request (its proxy transports are left in place).

Failures raise httpx's own exception classes with httpcore's meaning, because that is what
tells a create that never left (`ConnectError`, `ConnectTimeout`, `PoolTimeout`) from one
the server may have acted on (everything after the first byte is written).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import httpx

Origin = tuple[str, str, int]

KEEPALIVE_EXPIRY_S = 5.0  # httpx's default: an idle connection older than this is closed
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HEAD_LIMIT = 256 * 1024  # bytes of status line and headers accepted
_PRELOAD_LIMIT = 256 * 1024  # bodies up to this, with a known length, are read at once
_CHUNK = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})
_BODY_CUT_SHORT = "peer closed connection without sending complete message body"


class Http11Transport(httpx.AsyncBaseTransport):
    """At most `max_connections` open at once across origins; idle ones are reused, newest
    first, and checked for a server hang-up (seen by the event loop as it happens) and for
    age before each use."""

    def __init__(self, *, max_connections: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self._max = max_connections
        self._ssl = ssl_context
        self._open = 0  # connections open or being opened, idle or busy
        self._idle: dict[Origin, list[_Connection]] = {}
        self._waiters: deque[_Waiter] = deque()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        # raw_host: the ASCII form of the name (IDNA), without an IPv6 literal's brackets.
        origin = (scheme, url.raw_host.decode("ascii"), url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connection = await self._acquire(origin, timeouts)
        try:
            await connection.send(request, timeouts.get("write"))
            head = await connection.read_head(timeouts.get("read"))
            while 100 <= head.status < 200 and head.status != 101:
                head = await connection.read_head(timeouts.get("read"))  # interim answer
            body = _Body(self, connection, head, request.method, timeouts.get("read"))
            content = await body.preload()
        except BaseException:
            self._discard(connection)
            raise
        extensions = {"http_version": head.version, "reason_phrase": head.reason}
        stream: httpx.AsyncByteStream = httpx.ByteStream(content) if content is not None else body
        return httpx.Response(
            head.status, headers=head.headers, stream=stream, extensions=extensions
        )

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
                self._open -= 1
        self._idle.clear()

    # -- the pool ---------------------------------------------------------------------------

    async def _acquire(self, origin: Origin, timeouts: dict[str, float | None]) -> _Connection:
        if self._closed:
            raise httpx.PoolTimeout("the connection pool is closed")
        connection = self._take_idle(origin)
        if connection is not None:
            return connection
        if self._open >= self._max:
            self._close_one_idle()  # another origin's idle connection makes room
        if self._open >= self._max:
            connection = await self._wait(origin, timeouts.get("pool"))
            if connection is not None:
                return connection
        else:
            self._open += 1  # the slot is ours before the first await
        try:
            return await _Connection.open(origin, self._ssl, timeouts.get("connect"))
        except BaseException:
            self._free_slot()
            raise

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if connection.reusable_at(now):
                return connection
            self._discard(connection)
        return None

    def _close_one_idle(self) -> None:
        for connections in self._idle.values():
            if connections:
                connections.pop(0).close()  # the oldest
                self._open -= 1
                return

    async def _wait(self, origin: Origin, timeout: float | None) -> _Connection | None:
        """Queue for a connection to `origin` or for a free slot (None: open one)."""
        waiter = _Waiter(origin, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter.future
        except BaseException as exc:
            if waiter.future.done() and not waiter.future.cancelled():
                # Handed a connection or slot at the moment we gave up: pass it on.
                handed = waiter.future.result()
                if handed is None:
                    self._free_slot()
                else:
                    self._release(handed)
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no connection became free in time") from None
            raise

    def _release(self, connection: _Connection) -> None:
        """A connection whose exchange is over and whose response was read to its end."""
        if self._closed or not connection.keep_alive:
            self._discard(connection)
            return
        connection.expires_at = time.monotonic() + KEEPALIVE_EXPIRY_S
        for waiter in self._waiters:
            if waiter.origin == connection.origin and not waiter.future.done():
                self._waiters.remove(waiter)
                waiter.future.set_result(connection)
                return
        if self._hand_slot_to_waiter():
            connection.close()  # someone waits for another origin: the slot serves them
            return
        self._idle.setdefault(connection.origin, []).append(connection)

    def _discard(self, connection: _Connection) -> None:
        connection.close()
        self._free_slot()

    def _free_slot(self) -> None:
        if not self._hand_slot_to_waiter():
            self._open -= 1

    def _hand_slot_to_waiter(self) -> bool:
        # A request canceled while it waited has its future canceled at once but leaves the
        # queue only when its task next runs: it is passed over.
        while self._waiters and not self._closed:
            waiter = self._waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_result(None)
                return True
        return False


class _Waiter:
    __slots__ = ("future", "origin")

    def __init__(self, origin: Origin, future: asyncio.Future[_Connection | None]) -> None:
        self.origin = origin
        self.future = future


class _Head:
    __slots__ = ("headers", "keep_alive", "reason", "status", "version")

    def __init__(self, raw: bytes) -> None:
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:100]!r}")
        self.version = parts[0]
        self.status = int(parts[1])
        self.reason = parts[2] if len(parts) > 2 else b""
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip() or line[:1] in b" \t":
                raise httpx.RemoteProtocolError(f"malformed header line {line[:100]!r}")
            headers.append((name, value.strip()))
        self.headers = headers
        tokens = self.header_tokens(b"connection")
        if self.version == b"HTTP/1.0":
            self.keep_alive = b"keep-alive" in tokens
        else:
            self.keep_alive = b"close" not in tokens

    def header_tokens(self, name: bytes) -> set[bytes]:
        tokens: set[bytes] = set()
        for key, value in self.headers:
            if key.lower() == name:
                tokens.update(token.strip().lower() for token in value.split(b","))
        return tokens

    def content_length(self) -> int | None:
        values = {value for key, value in self.headers if key.lower() == b"content-length"}
        if not values:
            return None
        if len(values) > 1 or not all(value.isdigit() for value in values):
            raise httpx.RemoteProtocolError(f"bad Content-Length {sorted(values)!r}")
        return int(values.pop())


class _Connection:
    __slots__ = ("expires_at", "keep_alive", "origin", "reader", "writer")

    def __init__(self, origin: Origin, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.origin = origin
        self.reader = reader
        self.writer = writer
        self.expires_at = 0.0
        self.keep_alive = True

    @classmethod
    async def open(
        cls, origin: Origin, ssl_context: ssl.SSLContext | None, timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        tls: dict[str, Any] = {}
        if scheme == "https":
            tls = {"ssl": ssl_context or httpx.create_ssl_context(), "server_hostname": host}
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=_HEAD_LIMIT, **tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{host}:{port}: {exc}") from None
        return cls(origin, reader, writer)

    def reusable_at(self, now: float) -> bool:
        return now < self.expires_at and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def send(self, request: httpx.Request, timeout: float | None) -> None:
        body = await request.aread()
        target = request.url.raw_path
        lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), target)]
        chunked = False
        for name, value in request.headers.raw:
            if name.lower() == b"transfer-encoding":
                chunked = True  # a streamed body, already read whole: sent as one chunk
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"\r\n")
        if chunked:
            lines.append(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n")
        elif body:
            lines.append(body)
        try:
            self.writer.write(b"".join(lines))
            if self.writer.transport.get_write_buffer_size():
                async with asyncio.timeout(timeout):
                    await self.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("sending the request timed out") from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__) from None

    async def read_head(self, timeout: float | None) -> _Head:
        raw = await self._receive(
            self.reader.readuntil(b"\r\n\r\n"),
            timeout,
            cut_short="the response head was cut short",
            nothing="Server disconnected without sending a response.",
        )
        return _Head(raw)

    async def read(self, size: int, timeout: float | None, *, exactly: bool) -> bytes:
        operation = self.reader.readexactly(size) if exactly else self.reader.read(size)
        return await self._receive(operation, timeout, cut_short=_BODY_CUT_SHORT)

    async def read_line(self, timeout: float | None) -> bytes:
        operation = self.reader.readuntil(b"\r\n")
        return await self._receive(operation, timeout, cut_short=_BODY_CUT_SHORT)

    @staticmethod
    async def _receive(
        operation: Coroutine[Any, Any, bytes],
        timeout: float | None,
        *,
        cut_short: str,
        nothing: str | None = None,
    ) -> bytes:
        """Await one read of the response with httpx's meaning for each way it can fail."""
        try:
            async with asyncio.timeout(timeout):
                return await operation
        except asyncio.IncompleteReadError as exc:
            message = nothing if nothing is not None and not exc.partial else cut_short
            raise httpx.RemoteProtocolError(message) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("a response head or chunk line is too long") from None
        except TimeoutError:
            raise httpx.ReadTimeout("no response in time") from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from None


class _Body(httpx.AsyncByteStream):
    """A response body on its connection; the connection goes back to the pool once the
    body is read to its end, and is closed if the body is abandoned."""

    def __init__(
        self,
        transport: Http11Transport,
        connection: _Connection,
        head: _Head,
        method: str,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._timeout = timeout
        self._chunked = False
        self._length: int | None = None  # None with _chunked False: until the server hangs up
        connection.keep_alive = head.keep_alive
        if method == "HEAD" or head.status in _NO_BODY_STATUSES or head.status < 200:
            self._length = 0
        elif b"chunked" in head.header_tokens(b"transfer-encoding"):
            self._chunked = True
        else:
            self._length = head.content_length()
            if self._length is None:
                connection.keep_alive = False

    async def preload(self) -> bytes | None:
        """The whole body when it is short and of known length (the connection is then
        released at once); None when it is to be streamed."""
        length = self._length
        if self._chunked or length is None or length > _PRELOAD_LIMIT:
            return None
        connection = self._connection
        assert connection is not None
        content = await connection.read(length, self._timeout, exactly=True) if length else b""
        self._finish()
        return content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None:
            return
        if self._chunked:
            async for chunk in self._chunks(connection):
                yield chunk
        elif self._length is None:
            while chunk := await connection.read(_CHUNK, self._timeout, exactly=False):
                yield chunk
        else:
            remaining = self._length
            while remaining:
                chunk = await connection.read(min(remaining, _CHUNK), self._timeout, exactly=True)
                remaining -= len(chunk)
                yield chunk
        self._finish()

    async def _chunks(self, connection: _Connection) -> AsyncIterator[bytes]:
        while True:
            size_line = await connection.read_line(self._timeout)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError("malformed chunk size") from None
            if size == 0:
                while await connection.read_line(self._timeout) != b"\r\n":
                    pass  # trailers, ignored
                return
            while size:
                chunk = await connection.read(min(size, _CHUNK), self._timeout, exactly=True)
                size -= len(chunk)
                yield chunk
            if await connection.read(2, self._timeout, exactly=True) != b"\r\n":
                raise httpx.RemoteProtocolError("malformed chunked response body")

    def _finish(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._release(connection)

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:  # not read to its end: the connection cannot be reused
            self._transport._discard(connection)
