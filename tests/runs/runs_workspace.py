"""Helpers for the look-closer commands: a batch applied against the simulator, the commands
run through click as a user types them, and a webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from batchrun.cli import cli
from batchrun.ops.apply import sync_with_spec
from batchrun.sim import RunningSimulator
from batchrun.spec import load_spec
from batchrun.state import open_store

SITE = "https://shop.example"


def task(task_id: str, path: str, **fields: Any) -> dict[str, Any]:
    return {"id": task_id, "prompt": f"Find the price on {path}", "url": f"{SITE}/{path}", **fields}


@dataclass
class Workspace:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.db"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def spec(self, tasks: list[dict[str, Any]], *, name: str = "shop", **top: Any) -> Path:
        document: dict[str, Any] = {
            "name": name,
            "concurrency": 4,
            "poll": {"interval": "0.05s", "max_interval": "0.2s"},
            "retry": {"attempts": 2, "backoff": {"initial": "0.05s", "max": "0.1s"}},
            "results": str(self.results),
            **top,
            "tasks": tasks,
        }
        path = self.root / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        return path

    def env(self, api_key: str | None) -> dict[str, str | None]:
        # None unsets the variable: `--offline` must not need a key.
        return {"SKYVERN_API_KEY": api_key, "BATCHRUN_STATE": str(self.state)}

    def apply(self, spec: Path, sim: RunningSimulator) -> Result:
        """`batchrun apply` against the simulator: the state and results the commands read."""
        result = CliRunner().invoke(
            cli,
            ["apply", str(spec), "--api-url", sim.base_url, "--log-format", "plain", "--no-report"],
            env=self.env(sim.api_key),
            catch_exceptions=False,
        )
        assert result.exit_code in (0, 1), result.output
        return result

    def run(
        self, *args: str, sim: RunningSimulator | None = None, api_key: str | None = None
    ) -> Result:
        """A batchrun command; with `sim`, pointed at it (`--api-url`) with its key."""
        argv = list(args)
        if sim is not None:
            argv += ["--api-url", sim.base_url]
            api_key = api_key or sim.api_key
        return CliRunner().invoke(cli, argv, env=self.env(api_key), catch_exceptions=False)


@dataclass
class Received:
    answered: int
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A loopback endpoint answering 500 while `down` and 200 otherwise; keeps every request."""

    url: str = ""
    down: bool = True
    requests: list[Received] = field(default_factory=list)


def signature_ok(request: Received, api_key: str) -> bool:
    """HMAC-SHA256 of the raw body, keyed with the API key (docs/skyvern-api.md §14)."""
    expected = hmac.new(api_key.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers.get("x-skyvern-signature", ""))


@contextmanager
def serve_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            status = 500 if receiver.down else 200
            with lock:
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.requests.append(Received(status, headers, body))
            reply = b"receiver is down" if status == 500 else b"ok"
            self.send_response(status)
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/skyvern"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def record_unfinished_attempts(workspace: Workspace, spec_path: Path) -> None:
    """A batch as a crashed or refused `apply` leaves it, written through the state API:
    `refused`'s only attempt was turned down before a run existed (HTTP 400), `running`'s
    run was accepted and has not finished."""
    spec = load_spec(spec_path)
    store = open_store(workspace.state)
    try:
        batch = store.create_batch(spec.name, "crashed", str(spec_path))
        sync_with_spec(store, batch.id, spec.tasks)
        refused = store.begin_attempt(
            batch.id, "refused", attempt_key="k-refused", kind="task", request={},
            reserved_steps=10,
        )  # fmt: skip
        store.attempt_not_created(
            refused, batch_id=batch.id, reason="HTTP 400: Invalid URL", final=True
        )
        running = store.begin_attempt(
            batch.id, "running", attempt_key="k-running", kind="task", request={},
            reserved_steps=10,
        )  # fmt: skip
        store.attempt_accepted(
            running, batch_id=batch.id, run_id="tsk_1", run_type="task_v1", status="running",
            app_url=None,
        )  # fmt: skip
    finally:
        store.close()
