"""The tests' one webhook endpoint on loopback: records every POST, answers as told.

It answers the scripted `statuses` in turn, then 500 while `down` is set, else 200.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    answered: int


class WebhookReceiver:
    def __init__(self, statuses: list[int] | None = None, *, down: bool = False) -> None:
        self.requests: list[Received] = []
        self.down = down
        self._statuses = list(statuses or [])
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    status = receiver._next_status()
                    headers = {key.lower(): value for key, value in self.headers.items()}
                    receiver.requests.append(Received(self.path, headers, body, status))
                reply = b"receiver is down" if status >= 500 else b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass  # keep the test output clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def _next_status(self) -> int:
        if self._statuses:
            return self._statuses.pop(0)
        return 500 if self.down else 200

    @property
    def received(self) -> list[dict[str, Any]]:
        """Each request as a mapping (path, headers, body), in arrival order."""
        return [{"path": r.path, "headers": r.headers, "body": r.body} for r in self.requests]

    @property
    def bodies(self) -> list[bytes]:
        return [request.body for request in self.requests]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            assert time.monotonic() < deadline, f"got {len(self.requests)} webhooks, not {count}"
            time.sleep(0.01)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def signature_ok(request: Received, api_key: str) -> bool:
    """HMAC-SHA256 of the raw body, keyed with the API key (docs/skyvern-api.md §14)."""
    expected = hmac.new(api_key.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers.get("x-skyvern-signature", ""))
