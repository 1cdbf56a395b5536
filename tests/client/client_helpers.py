"""Helpers shared by the client tests: fast retries, a connected client, a webhook receiver."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio

from batchrun.client import HttpRetryPolicy, RunResponse, SkyvernClient

# Tiny delays keep the retry tests fast; Retry-After is capped at max_delay.
FAST_RETRY = HttpRetryPolicy(attempts=6, initial=0.001, factor=2.0, max_delay=0.005, max_total=10)


def client_for(sim: Any, **kwargs: Any) -> SkyvernClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return SkyvernClient(sim.base_url, kwargs.pop("api_key", sim.api_key), **kwargs)


async def wait_final(client: SkyvernClient, run_id: str, timeout: float = 10.0) -> RunResponse:
    with anyio.fail_after(timeout):
        while True:
            run = await client.get_run(run_id)
            if run.is_final:
                return run
            await anyio.sleep(0.02)


class WebhookReceiver:
    """A loopback endpoint recording the webhook POSTs it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers["content-length"])))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
