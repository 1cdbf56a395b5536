"""Downloads: streamed to a sink with their SHA-256, the API key kept to the API's origin,
`file://` links fetched through the artifact-content endpoint, size limits and stale links."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from client_helpers import client_for, wait_final

from batchrun.client import (
    FileTooLargeError,
    HttpRetryPolicy,
    LinkExpiredError,
    RunResponse,
    SkyvernClient,
    SkyvernError,
)
from batchrun.client.downloads import CHUNK_SIZE

pytestmark = pytest.mark.anyio

FILES = [{"name": "invoice.pdf", "size": 300_000}, {"name": "receipt.csv", "size": 2_000}]


def scenario(**extra: Any) -> dict[str, Any]:
    return {"rules": [{"match": {"prompt": "*"}, "duration": 0.1, "files": FILES}], **extra}


async def finished_run(client: SkyvernClient) -> RunResponse:
    run = await client.run_task({"prompt": "get the invoice", "url": "https://billing.test/"})
    return await wait_final(client, run.run_id)


class RecordingSink(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.write_sizes: list[int] = []

    def write(self, data: Any) -> int:
        self.write_sizes.append(len(data))
        return super().write(data)


async def test_files_stream_from_the_file_origin_without_the_api_key(simulator) -> None:
    sim = simulator(scenario())
    async with client_for(sim) as client:
        run = await finished_run(client)
        assert run.downloaded_files is not None and len(run.downloaded_files) == 2
        for info in run.downloaded_files:
            assert info.url.startswith(sim.files_base_url)  # another origin than the API
            sink = RecordingSink()
            result = await client.download(info.url, sink, artifact_id=info.artifact_id)
            assert result.size == info.file_size == len(sink.getvalue())
            assert result.sha256 == info.checksum == hashlib.sha256(sink.getvalue()).hexdigest()
            assert max(sink.write_sizes) <= CHUNK_SIZE  # streamed, never held whole
        assert len(sink.write_sizes) >= 1
        screenshot = (await client.get_run_artifacts(run.run_id, ["screenshot_final"]))[0]
        assert screenshot.signed_url is not None
        png = io.BytesIO()
        await client.download(screenshot.signed_url, png)
        assert png.getvalue().startswith(b"\x89PNG")

    seen = sim.file_requests()
    assert len(seen) == 3
    for request in seen:
        assert "x-api-key" not in request["headers"]
        assert sim.api_key not in str(request["headers"])


async def test_big_file_is_written_in_many_chunks(simulator) -> None:
    sim = simulator(scenario())
    async with client_for(sim) as client:
        run = await finished_run(client)
        big = next(f for f in run.downloaded_files or [] if f.filename == "invoice.pdf")
        sink = RecordingSink()
        await client.download(big.url, sink)
    assert len(sink.write_sizes) >= 300_000 // CHUNK_SIZE
    assert sum(sink.write_sizes) == 300_000


async def test_self_hosted_file_url_goes_through_the_artifact_content_endpoint(simulator) -> None:
    sim = simulator(scenario(file_urls="file"))
    async with client_for(sim) as client:
        run = await finished_run(client)
        info = next(f for f in run.downloaded_files or [] if f.filename == "receipt.csv")
        assert info.url.startswith("file://")
        sink = io.BytesIO()
        result = await client.download(info.url, sink, artifact_id=info.artifact_id)
        assert result.sha256 == info.checksum and result.size == 2_000
        with pytest.raises(SkyvernError, match="no artifact_id"):
            await client.download(info.url, io.BytesIO())
    assert sim.stats()["requests_by_route"]["content"] == 1
    assert sim.file_requests() == []


async def test_max_bytes_stops_the_download(simulator) -> None:
    sim = simulator(scenario())
    async with client_for(sim) as client:
        run = await finished_run(client)
        big = next(f for f in run.downloaded_files or [] if f.filename == "invoice.pdf")
        sink = io.BytesIO()
        with pytest.raises(FileTooLargeError):
            await client.download(big.url, sink, max_bytes=100_000)
        assert len(sink.getvalue()) <= 100_000
        exact = io.BytesIO()
        assert (await client.download(big.url, exact, max_bytes=300_000)).size == 300_000


async def test_expired_link_asks_for_a_fresh_one(simulator) -> None:
    sim = simulator(scenario(expires_after=0.3))
    async with client_for(sim) as client:
        run = await finished_run(client)
        stale = (run.downloaded_files or [])[0]
        await anyio.sleep(0.5)
        with pytest.raises(LinkExpiredError):
            await client.download(stale.url, io.BytesIO())
        fresh = (await client.get_run(run.run_id)).downloaded_files or []
        result = await client.download(fresh[0].url, io.BytesIO())
        assert result.sha256 == stale.checksum


async def test_dropped_and_failed_file_requests_are_retried(simulator) -> None:
    sim = simulator(scenario())
    patient = HttpRetryPolicy(attempts=30, initial=0.001, max_delay=0.005)
    async with client_for(sim, retry=patient) as client:
        run = await finished_run(client)
        sim.set_scenario(scenario(faults={"drop": 0.5, "server_error": 0.2, "endpoints": ["file"]}))
        for info in (run.downloaded_files or []) * 4:
            sink = io.BytesIO(b"kept prefix|")
            sink.seek(0, io.SEEK_END)
            result = await client.download(info.url, sink)
            assert result.sha256 == info.checksum
            assert sink.getvalue()[:12] == b"kept prefix|"
            assert hashlib.sha256(sink.getvalue()[12:]).hexdigest() == info.checksum
    assert sum(sim.stats()["faults_injected"].values()) >= 3


class RedirectingApi:
    """An API origin whose content endpoint redirects to storage on another origin, as a
    deployment behind a CDN might; it records the headers it receives."""

    def __init__(self, target: str) -> None:
        self.headers: list[dict[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(307)
                self.send_header("location", target)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def redirecting_api() -> Iterator[list[RedirectingApi]]:
    started: list[RedirectingApi] = []
    yield started
    for api in started:
        api.server.shutdown()
        api.server.server_close()


async def test_the_key_is_not_carried_across_a_redirect(simulator, redirecting_api) -> None:
    sim = simulator(scenario())
    async with client_for(sim) as client:
        info = (await finished_run(client)).downloaded_files[0]  # type: ignore[index]
    api = RedirectingApi(info.url)
    redirecting_api.append(api)
    async with SkyvernClient(api.base_url, "the-api-key") as client:
        result = await client.download(f"{api.base_url}/v1/artifacts/a_1/content", io.BytesIO())
    assert result.sha256 == info.checksum
    assert api.headers[0]["x-api-key"] == "the-api-key"  # the API's own origin gets it
    assert all("x-api-key" not in r["headers"] for r in sim.file_requests())
