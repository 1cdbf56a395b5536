"""Running the simulator: two uvicorn servers (API and file origin) on one event loop.

`start_simulator` serves in a background thread and returns once both origins listen;
`batchrun sim` uses the same thing and waits for SIGINT/SIGTERM in the main thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from batchrun.errors import UsageError
from batchrun.sim.app import SimState, build_api_app, build_file_app
from batchrun.sim.scenario import Scenario
from batchrun.sim.store import RunStore

_START_TIMEOUT = 15.0


def load_scenario(scenario: Scenario | dict[str, Any] | str | Path | None) -> Scenario:
    if scenario is None:
        return Scenario()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return Scenario.from_dict(scenario)
    return Scenario.from_yaml(scenario)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say they are TCP; with proto 0 every keep-alive response waits ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    except OverflowError as exc:  # a port outside 0-65535 is refused before any syscall
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: port must be 0-65535") from exc
    except (TypeError, UnicodeError) as exc:  # a host name IDNA cannot encode: not a host
        sock.close()
        raise UsageError(f"cannot listen on {host!r}: not a host name or address") from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _origin(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _uvicorn_server(app: Any) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http="h11",  # the dropped-connection fault relies on h11's RequestResponseCycle
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        limit_concurrency=None,
        backlog=2048,
    )
    return uvicorn.Server(config)


class RunningSimulator:
    """A simulator serving in a background thread; a context manager that stops it."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        api_key: str,
        host: str,
        port: int,
        seed: int,
        time_scale: float,
        store_path: Path | None = None,
    ) -> None:
        self.api_key = api_key
        # Opened first: an unreadable store is refused before any port is taken.
        self._store = RunStore.open(store_path) if store_path is not None else None
        try:
            self._api_socket = _listen(host, port)
            self._file_socket = _listen(host, 0)
        except UsageError:
            if self._store is not None:
                self._store.close()
            raise
        self.base_url = _origin(self._api_socket)
        self.files_base_url = _origin(self._file_socket)
        self._scenario = scenario
        self._seed = seed
        self._time_scale = time_scale
        self._loop: asyncio.AbstractEventLoop | None = None
        self._servers: list[uvicorn.Server] = []
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve_in_thread, name="batchrun-sim", daemon=True
        )
        self.sim: SimState | None = None

    def start(self) -> RunningSimulator:
        self._thread.start()
        try:
            self._ready.result(timeout=_START_TIMEOUT)
        except BaseException:
            self.stop()  # a store that fails to load must not leave the ports taken
            raise
        return self

    def _serve_in_thread(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaces in start() instead of dying silently
            if not self._ready.done():
                self._ready.set_exception(exc)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.sim = SimState(
            self._scenario,
            api_key=self.api_key,
            seed=self._seed,
            time_scale=self._time_scale,
            store=self._store,
        )
        self.sim.signer.files_base_url = self.files_base_url
        api = _uvicorn_server(build_api_app(self.sim))
        files = _uvicorn_server(build_file_app(self.sim))
        self._servers = [api, files]
        webhook_worker = asyncio.create_task(self.sim.webhooks.run_forever())
        serving = [
            asyncio.create_task(api.serve(sockets=[self._api_socket])),
            asyncio.create_task(files.serve(sockets=[self._file_socket])),
        ]
        while not (api.started and files.started):
            if any(task.done() for task in serving):
                break
            await asyncio.sleep(0.005)
        if not self._ready.done():
            self._ready.set_result(None)
        try:
            await asyncio.gather(*serving)
        finally:
            webhook_worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await webhook_worker
            await self.sim.webhooks.close()

    def _call(self, func: Any, *args: Any) -> Any:
        """Run `func` on the simulator's loop (its state is owned by that thread)."""
        assert self._loop is not None

        async def call() -> Any:
            return func(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=30)

    def stats(self) -> dict[str, Any]:
        """The same JSON as `GET /_sim/stats`."""
        assert self.sim is not None
        return self._call(self.sim.stats)

    def file_requests(self) -> list[dict[str, Any]]:
        """The same JSON as `GET /_sim/file-requests`: every request the file origin saw."""
        assert self.sim is not None
        return self._call(lambda: list(self.sim.file_origin.requests))  # type: ignore[union-attr]

    def set_scenario(self, scenario: Scenario | dict[str, Any]) -> None:
        assert self.sim is not None
        self._call(self.sim.set_scenario, load_scenario(scenario))

    def reset(self) -> None:
        assert self.sim is not None
        self._call(self.sim.reset)

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        for sock in (self._api_socket, self._file_socket):
            with contextlib.suppress(OSError):
                sock.close()
        if self._store is not None and not self._thread.is_alive():
            self._store.close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_simulator(
    scenario: Scenario | dict[str, Any] | str | Path | None = None,
    *,
    api_key: str = "sim-key",
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int = 0,
    time_scale: float = 1.0,
    store_path: Path | None = None,
) -> RunningSimulator:
    """Serve a simulator in a background thread; returns once both origins are listening.

    `time_scale` multiplies every scripted duration (0.1 runs ten times faster).
    `store_path`: keep the runs in this SQLite file (its folder is created) and load the
    ones already there, so a simulator started again on it answers for them as a real
    server would: same ids, statuses moved on by the wall time that passed. An unreadable
    file is a `UsageError`.
    """
    if time_scale <= 0:
        raise UsageError("time_scale must be > 0")
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    simulator = RunningSimulator(
        load_scenario(scenario),
        api_key=api_key,
        host=host,
        port=port,
        seed=seed,
        time_scale=time_scale,
        store_path=store_path,
    )
    return simulator.start()
