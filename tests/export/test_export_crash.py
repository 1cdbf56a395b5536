"""A process killed (SIGKILL) in the middle of a large download leaves no partial file
under a final name, and the next export cleans up and completes the file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from batchrun.client import SkyvernClient
from batchrun.export import ExportedFile, download_run_files, remove_stale_temp_files
from batchrun.export.atomic import is_temp_file
from batchrun.sim import RunningSimulator

SIZE = 20_000_000

# The child downloads for real (simulator, client, atomic writes); its sink only sleeps
# between chunks so that the parent can catch it mid-file on any machine.
CHILD = """
import sys, time
from pathlib import Path
import anyio
from batchrun.client import SkyvernClient
from batchrun.export import download_run_files

base_url, api_key, run_id, batch_dir = sys.argv[1:]

class SlowSink:
    def __init__(self, inner):
        self.inner = inner
    def write(self, data):
        time.sleep(0.02)
        return self.inner.write(data)
    def __getattr__(self, name):
        return getattr(self.inner, name)

class SlowClient:
    def __init__(self, client):
        self.client = client
    async def download(self, url, sink, **kwargs):
        return await self.client.download(url, SlowSink(sink), **kwargs)

async def main():
    async with SkyvernClient(base_url, api_key) as client:
        run = await client.get_run(run_id)
        await download_run_files(
            SlowClient(client), run, Path(batch_dir) / "files", results_root=Path(batch_dir),
            max_file_size=10**9, refresh_run=lambda: client.get_run(run_id),
        )

anyio.run(main)
"""


def test_sigkill_during_a_download_leaves_no_partial_file(
    tmp_path: Path, simulator: Callable[..., RunningSimulator]
) -> None:
    rule = {"match": {"title": "*"}, "duration": 0.05, "files": [{"name": "big.bin", "size": SIZE}]}
    sim = simulator({"rules": [rule]})
    batch_dir = tmp_path / "batch"
    files_dir = batch_dir / "files"
    run_id = anyio.run(_finished_run_id, sim)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, sim.base_url, sim.api_key, run_id, str(batch_dir)],
        stderr=subprocess.PIPE,
    )
    try:
        partial = _wait_for_partial_download(files_dir, child)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    left = sorted(p.name for p in files_dir.iterdir())
    assert left == [partial.name]  # only the temp file: nothing under the final name
    assert is_temp_file(partial.name) and 0 < partial.stat().st_size < SIZE

    # The next apply/export removes the leftover and fetches the file whole.
    assert remove_stale_temp_files(batch_dir) == 1
    exported = anyio.run(_download_again, sim, run_id, batch_dir)
    assert exported.error is None and exported.checksum_ok is True
    assert sorted(p.name for p in files_dir.iterdir()) == ["big.bin"]
    assert (files_dir / "big.bin").stat().st_size == SIZE


async def _finished_run_id(sim: RunningSimulator) -> str:
    async with SkyvernClient(sim.base_url, sim.api_key) as client:
        created = await client.run_task({"prompt": "get it", "url": "https://example.com"})
        with anyio.fail_after(20):
            while not (await client.get_run(created.run_id)).is_final:
                await anyio.sleep(0.02)
        return created.run_id


async def _download_again(sim: RunningSimulator, run_id: str, batch_dir: Path) -> ExportedFile:
    async with SkyvernClient(sim.base_url, sim.api_key) as client:
        run = await client.get_run(run_id)
        (exported,) = await download_run_files(
            client,
            run,
            batch_dir / "files",
            results_root=batch_dir,
            max_file_size=10**9,
            refresh_run=lambda: client.get_run(run_id),
        )
        return exported


def _wait_for_partial_download(files_dir: Path, child: subprocess.Popen[bytes]) -> Path:
    """The temp file once it holds over a megabyte (the child is then surely mid-file)."""
    deadline = time.monotonic() + 60  # a safety net against a hung child, not a measurement
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise AssertionError(f"the child ended early: {child.stderr.read().decode()}")  # type: ignore[union-attr]
        temps = (
            [p for p in files_dir.glob("*") if is_temp_file(p.name)] if files_dir.is_dir() else []
        )
        for temp in temps:
            try:
                if temp.stat().st_size > 1_000_000:
                    return temp
            except FileNotFoundError:
                pass
        time.sleep(0.01)
    raise AssertionError("no partial download appeared")
