"""httpcore's connection pool with its per-request bookkeeping made linear.

httpcore (1.0.x) re-examines every pooled connection each time a request is queued or a
response is closed, and for each of them counts the whole pool again, and polls every idle
socket to see whether its server hung up. With 32 kept-alive connections that is about a
thousand checks and 32 `poll()` calls per request: a third of `apply`'s CPU with instant
runs (see BENCHMARKS.md). This pool keeps httpcore's behaviour but:

- checks only the connection it is about to hand out for a server hang-up (a stale idle
  connection that is never picked costs nothing and is closed when it is picked or when the
  pool closes);
- counts idle connections once per pass instead of once per connection.

Only the assignment step is replaced; connection handling, HTTP/1.1 parsing and timeouts
are httpcore's own. If a future httpcore renames the method this relies on, `use_lean_pool`
leaves the stock pool in place (slower, never wrong).
"""

from __future__ import annotations

from typing import Any

import httpcore
import httpx

_HOOK = "_assign_requests_to_connections"


class LeanConnectionPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        connections: list[Any] = self._connections
        # Closed connections go; surplus idle ones are closed (httpcore's rule, counted once).
        kept: list[Any] = []
        for connection in connections:
            if not connection.is_closed():
                kept.append(connection)
        idle = sum(1 for connection in kept if connection.is_idle())
        surplus = idle - self._max_keepalive_connections
        if surplus > 0:
            for connection in list(kept):
                if surplus <= 0:
                    break
                if connection.is_idle():
                    kept.remove(connection)
                    closing.append(connection)
                    surplus -= 1
        connections[:] = kept

        # Assigning never blocks a request on another, so the queue is walked in order; once
        # the pool is full with nothing available or idle, no later request can be placed
        # either, and the walk stops (a batch keeps ~70 requests queued behind 32 connections:
        # walking them all on every queue and close was a tenth of `apply`'s CPU).
        for pool_request in list(self._requests):
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            connection = self._pick_available(origin, closing)
            if connection is not None:
                pool_request.assign_to_connection(connection)
            elif len(connections) < self._max_connections:
                connection = self.create_connection(origin)
                connections.append(connection)
                pool_request.assign_to_connection(connection)
            else:
                idle_connection = next((c for c in connections if c.is_idle()), None)
                if idle_connection is not None:
                    connections.remove(idle_connection)
                    closing.append(idle_connection)
                    connection = self.create_connection(origin)
                    connections.append(connection)
                    pool_request.assign_to_connection(connection)
                elif not any(c.is_available() for c in connections):
                    break
        return closing

    def _pick_available(self, origin: Any, closing: list[Any]) -> Any:
        """The first connection that can take a request for `origin` now; expired ones met on
        the way (keep-alive over, or the server hung up) are closed."""
        connections: list[Any] = self._connections
        index = 0
        while index < len(connections):
            connection = connections[index]
            # is_available first: a state check, where can_handle_request compares origins.
            if connection.is_available() and connection.can_handle_request(origin):
                if connection.has_expired():
                    connections.pop(index)
                    closing.append(connection)
                    continue
                return connection
            index += 1
        return None


def use_lean_pool(client: httpx.AsyncClient) -> None:
    """Swap the pool of `client`'s direct transport for `LeanConnectionPool` (in place, so
    that httpx's own handling of limits, TLS and environment proxies is untouched; proxy
    pools are left as they are)."""
    use_lean_pool_on(getattr(client, "_transport", None))


def use_lean_pool_on(transport: object) -> None:
    """`use_lean_pool` for an `httpx.AsyncHTTPTransport` itself."""
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and callable(getattr(pool, _HOOK, None)):
        pool.__class__ = LeanConnectionPool  # same state, leaner method
