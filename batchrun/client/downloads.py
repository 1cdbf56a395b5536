"""Streaming a downloaded file (or any artifact) to a sink, in constant memory.

Signed file URLs live on another origin (S3, the API's own signed content URLs, ...), so
the key goes only where the transport decides it may. A `file://` URL, what a self-hosted
server with local storage hands out, is fetched through the artifact-content endpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote

import httpx

from batchrun.client.errors import FileTooLargeError, SkyvernError, error_for_exception
from batchrun.client.transport import ApiTransport, retryable_when_idempotent, with_retries

CHUNK_SIZE = 64 * 1024
_FETCHABLE_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class DownloadResult:
    size: int
    sha256: str  # lowercase hex, comparable with FileInfo.checksum


def _safe_for_messages(url: str) -> str:
    # A signed URL's query is a bearer credential for hours: keep it out of messages.
    return url.split("?", 1)[0]


def resolve_download_url(transport: ApiTransport, url: str, artifact_id: str | None) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is not None and parsed.scheme.lower() in _FETCHABLE_SCHEMES and parsed.host:
        return parsed
    if artifact_id:
        return transport.api_url(f"v1/artifacts/{quote(artifact_id, safe='')}/content")
    raise SkyvernError(
        f"cannot fetch {_safe_for_messages(url)!r} over HTTP and no artifact_id was given "
        "to fetch it through the API"
    )


async def download(
    transport: ApiTransport,
    url: str,
    sink: BinaryIO,
    *,
    artifact_id: str | None = None,
    max_bytes: int | None = None,
) -> DownloadResult:
    target = resolve_download_url(transport, url, artifact_id)
    start = sink.tell() if sink.seekable() else None
    progress = {"written": 0}

    async def attempt() -> DownloadResult:
        if start is not None:
            sink.seek(start)
            sink.truncate()
        progress["written"] = 0
        return await _stream_once(transport, target, sink, max_bytes, progress)

    def retryable(error: SkyvernError) -> bool:
        # Bytes already handed to a sink we cannot rewind would corrupt the file.
        restartable = start is not None or progress["written"] == 0
        return restartable and retryable_when_idempotent(error)

    return await with_retries(
        transport.retry, attempt, retryable, what=f"download {_safe_for_messages(url)}"
    )


async def _stream_once(
    transport: ApiTransport,
    url: httpx.URL,
    sink: BinaryIO,
    max_bytes: int | None,
    progress: dict[str, int],
) -> DownloadResult:
    response = await transport.send("GET", url, stream=True)
    try:
        declared = response.headers.get("content-length")
        if max_bytes is not None and declared and declared.isdigit() and int(declared) > max_bytes:
            raise FileTooLargeError(f"file is {declared} bytes, more than the {max_bytes} allowed")
        digest = hashlib.sha256()
        size = 0
        try:
            async for chunk in response.aiter_bytes(CHUNK_SIZE):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise FileTooLargeError(f"file is larger than the {max_bytes} bytes allowed")
                digest.update(chunk)
                sink.write(chunk)
                progress["written"] = size
        except httpx.HTTPError as exc:
            raise error_for_exception(exc) from None
        return DownloadResult(size=size, sha256=digest.hexdigest())
    finally:
        await response.aclose()
