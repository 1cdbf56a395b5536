"""A listening TCP socket for the servers batchrun runs on loopback (the simulator, the
webhook receiver), bound before the server starts so a taken port is one clear error."""

from __future__ import annotations

import socket

from batchrun.errors import UsageError


def listening_socket(host: str, port: int, *, backlog: int, what: str = "") -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say they are TCP; with proto 0 every keep-alive response waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    prefix = f"{what}: " if what else ""
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"{prefix}cannot listen on {host}:{port}: {exc.strerror}") from exc
    except OverflowError as exc:  # a port outside 0-65535 is refused before any syscall
        sock.close()
        raise UsageError(f"{prefix}cannot listen on {host}:{port}: port must be 0-65535") from exc
    except (TypeError, UnicodeError) as exc:  # a host name IDNA cannot encode: not a host
        sock.close()
        raise UsageError(f"{prefix}cannot listen on {host!r}: not a host name or address") from exc
    sock.listen(backlog)
    sock.setblocking(False)
    return sock
