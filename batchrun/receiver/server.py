"""Serving the receiver: uvicorn on a pre-bound socket, inside the caller's event loop.

The listening socket is bound before anything is served, so `url` is known (port 0 picks a
free port) and a delivery that arrives while uvicorn starts waits in the backlog instead of
being refused. The HTTP server and the relay workers are children of one task group that
`serve` owns; `stop()` ends them in order: no new requests, then pending relays get their
grace period, then whatever is left is cancelled.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import uvicorn

from batchrun.errors import UsageError
from batchrun.listening import listening_socket
from batchrun.receiver.app import DeliveryApp, DeliveryCallback, RelayTarget
from batchrun.receiver.relay import Relay
from batchrun.receiver.settings import ReceiverSettings, ReceiverStats

PATH_PREFIX = "/hooks/"
DEFAULT_HOST = "127.0.0.1"
_logger = logging.getLogger("batchrun.receiver")


def parse_listen(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT` (loopback) -> (host, port)."""
    text = value.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"--listen {value!r}: write an IPv6 address in brackets, [::1]:PORT")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--listen {value!r}: the port must be a number from 0 to 65535")
    return host or DEFAULT_HOST, int(port_text)


def public_origin(public_url: str) -> str:
    """The scheme://host[:port] of `--public-url`; a path, query or fragment is refused
    because the receiver only answers on its own secret path."""
    parts = urlsplit(public_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--public-url {public_url!r}: expected http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(
            f"--public-url {public_url!r}: give only the origin (http(s)://host[:port]); "
            "the receiver adds its own secret path"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _listen(host: str, port: int) -> socket.socket:
    return listening_socket(host, port, backlog=128, what="--listen")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: SIGINT belongs to the program embedding it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _warn_by_logging(message: str) -> None:
    _logger.warning("%s", message)


class WebhookReceiver:
    """Receives Skyvern's webhooks for one batch; see `serve_receiver` for the usual use."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        api_key: str | Sequence[str],
        on_delivery: DeliveryCallback,
        relay_target: RelayTarget | None = None,
        on_warning: Callable[[str], None] | None = None,
        public_url: str | None = None,
        settings: ReceiverSettings | None = None,
    ) -> None:
        keys = [api_key] if isinstance(api_key, str) else list(api_key)
        if not keys or not all(keys):
            raise ValueError("WebhookReceiver needs the API key(s) Skyvern signs with")
        self.settings = settings or ReceiverSettings()
        self.stats = ReceiverStats()
        self.path = PATH_PREFIX + secrets.token_urlsafe(24)  # 32 characters
        self._host = host
        self._port = port
        self._public_origin = public_origin(public_url) if public_url else None
        self._warn = on_warning or _warn_by_logging
        self._relay = Relay(self.settings, self.stats, self._warn)
        self._app = DeliveryApp(
            path=self.path,
            api_keys=keys,
            on_delivery=on_delivery,
            relay_target=relay_target,
            relay=self._relay,
            settings=self.settings,
            stats=self.stats,
            warn=self._warn,
        )
        self._bound_origin: str | None = None
        self._sock: socket.socket | None = None
        self._stop_requested = False
        self._stop: anyio.Event | None = None  # made in `serve`, on the running loop

    @property
    def bound_url(self) -> str:
        """The URL on the listening socket itself (what a local sender reaches)."""
        if self._bound_origin is None:
            raise RuntimeError("the receiver is not serving yet")
        return self._bound_origin + self.path

    @property
    def url(self) -> str:
        """What to put in each run's webhook_url: `--public-url`'s origin if given."""
        if self._public_origin is not None:
            return self._public_origin + self.path
        return self.bound_url

    @property
    def relays_pending(self) -> int:
        return self._relay.pending

    def bind(self) -> None:
        """Bind the listening socket now, so a taken port is a plain UsageError here rather
        than one wrapped in an exception group by the task group running `serve`."""
        if self._sock is None:
            self._sock = _listen(self._host, self._port)
            host, port = self._sock.getsockname()[:2]
            self._bound_origin = (
                f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
            )

    def close(self) -> None:
        """Release a socket that `bind` made for a `serve` that never ran."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def stop(self) -> None:
        """Ask `serve` to finish; it returns once requests and relays have wound down."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def serve(
        self, *, task_status: anyio.abc.TaskStatus[WebhookReceiver] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until `stop()` (graceful) or cancellation (immediate). For `tg.start`:
        reports the receiver once the socket listens, so `url` is usable."""
        self._stop = stop = anyio.Event()
        if self._stop_requested:
            stop.set()
        self.bind()
        sock = self._sock
        assert sock is not None
        try:
            async with anyio.create_task_group() as tg:
                relay_scope = anyio.CancelScope()
                await tg.start(self._run_relay, relay_scope)
                server = _EmbeddedServer(self._uvicorn_config())
                http_done = anyio.Event()
                tg.start_soon(self._run_http, server, sock, http_done)
                task_status.started(self)
                await stop.wait()
                server.should_exit = True
                await http_done.wait()  # no request is in flight, so no relay can be added
                await self._relay.drain()
                relay_scope.cancel()
        finally:
            # Both ways out (stop after the grace, or cancellation) count the lost relays.
            self._relay.abandon()
            self.close()

    async def _run_relay(
        self, scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        with scope:
            await self._relay.run(task_status=task_status)

    async def _run_http(
        self, server: uvicorn.Server, sock: socket.socket, done: anyio.Event
    ) -> None:
        finished = False
        try:
            await server.serve(sockets=[sock])
            finished = True
        finally:
            if not finished:
                # Cancelled mid-serve: uvicorn's own shutdown did not run. Closing its
                # listeners and connections needs no await, so it happens even now; the
                # per-request tasks uvicorn spawned itself are cancelled rather than orphaned.
                for listener in getattr(server, "servers", []):
                    listener.close()
                for connection in list(server.server_state.connections):
                    connection.shutdown()
                for request_task in list(server.server_state.tasks):
                    request_task.cancel()
            done.set()
            # Should uvicorn ever end on its own, `serve` must not wait for a stop() forever.
            self.stop()

    def _uvicorn_config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self._app,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,  # leave the embedding program's logging configuration alone
            log_level="error",  # uvicorn's per-request warnings would flood a live display
            access_log=False,
            server_header=False,
            limit_concurrency=self.settings.max_connections,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=2,
        )


@contextlib.asynccontextmanager
async def serve_receiver(
    host: str = DEFAULT_HOST, port: int = 0, **kwargs: Any
) -> AsyncIterator[WebhookReceiver]:
    """Serve a `WebhookReceiver(host, port, **kwargs)` for the duration of the block.

    Leaving the block stops it gracefully (pending relays get `relay_grace`); cancelling the
    enclosing scope stops it at once.
    """
    receiver = WebhookReceiver(host, port, **kwargs)
    receiver.bind()
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(receiver.serve)
            try:
                yield receiver
            finally:
                receiver.stop()
    finally:
        receiver.close()
