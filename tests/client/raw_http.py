"""Loopback servers that speak raw HTTP/1.1 from a thread, for exchanges the simulator never
has: hang-ups, silence, chunked or cut bodies, interim answers, TLS."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def serve(
    handle: Callable[[socket.socket], None], *, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[str, list[int]]]:
    """Serve connections one at a time with `handle`; yields the base URL and a list that
    gets one entry per accepted connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            try:
                if tls is not None:
                    conn = tls.wrap_socket(conn, server_side=True)
                with conn:
                    handle(conn)
            except OSError:
                pass  # the client went away; serve the next one

    threading.Thread(target=loop, daemon=True).start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()


def read_request(conn: socket.socket) -> bytes:
    """The request head (and whatever body came with it); b"" when the client hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def answer(body: bytes = b"{}", *, extra: bytes = b"", status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )  # fmt: skip


def keep_answering(respond: Callable[[bytes], bytes]) -> Callable[[socket.socket], None]:
    """A handler that answers every request on a connection until the client hangs up."""

    def handle(conn: socket.socket) -> None:
        while request := read_request(conn):
            conn.sendall(respond(request))

    return handle
