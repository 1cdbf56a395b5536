"""Artifact bytes, their links, and the second origin that serves them.

Real Skyvern hands out presigned storage URLs on another host (S3) or `file://` paths on a
self-hosted box. The simulator serves bytes from a SECOND loopback origin with unguessable
HMAC-signed links that can expire, and records the headers of every request that origin
receives, so tests can prove the API key never travels there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
import struct
import time
import zlib
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from batchrun.sim.scenario import FileSpec

SIGNED_LINK_LIFETIME = 12 * 3600.0  # Skyvern's keyring default


def _tiny_png() -> bytes:
    """A valid 1x1 PNG, built rather than pasted so its bytes are obviously right."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x3a\x7b\xd5")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


SCREENSHOT_PNG = _tiny_png()
# The EBML magic of a WebM file, then padding: a placeholder, not a playable video.
RECORDING_PLACEHOLDER = b"\x1a\x45\xdf\xa3" + b"\x00" * 60

CONTENT_TYPES = {
    "download": "application/octet-stream",
    "screenshot_final": "image/png",
    "recording": "video/webm",
}


@dataclass(frozen=True, slots=True)
class ArtifactBlob:
    """What an artifact's bytes are, derived (not stored) from the run and the scenario."""

    artifact_id: str
    artifact_type: str
    filename: str | None = None
    file: FileSpec | None = None
    seed_key: str = ""

    def clean_bytes(self) -> bytes:
        if self.artifact_type == "screenshot_final":
            return SCREENSHOT_PNG
        if self.artifact_type == "recording":
            return RECORDING_PLACEHOLDER
        assert self.file is not None
        return random.Random(self.seed_key).randbytes(self.file.size)

    def served_bytes(self) -> bytes:
        data = self.clean_bytes()
        if self.file is not None and self.file.corrupt:
            # Same length, different content: only a checksum check notices.
            return bytes([data[0] ^ 0xFF]) + data[1:] if data else b"corrupt"
        return data

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.clean_bytes()).hexdigest()

    @property
    def size(self) -> int:
        return len(self.clean_bytes())


class LinkSigner:
    """Mints and checks the second origin's links: HMAC over artifact id and expiry."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self.files_base_url = ""

    def _signature(self, artifact_id: str, expiry: str) -> str:
        digest = hmac.new(self._key, f"{artifact_id}:{expiry}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, artifact_id: str, filename: str, lifetime: float | None) -> str:
        expiry = f"{time.time() + (lifetime if lifetime is not None else SIGNED_LINK_LIFETIME):.3f}"
        name = quote(filename, safe="") or "file"
        return (
            f"{self.files_base_url}/artifacts/{artifact_id}/{name}"
            f"?expiry={expiry}&sig={self._signature(artifact_id, expiry)}"
        )

    def verify(self, artifact_id: str, expiry: str | None, signature: str | None) -> bool:
        if not expiry or not signature:
            return False
        expected = self._signature(artifact_id, expiry)
        if not hmac.compare_digest(expected, signature):
            return False
        try:
            return float(expiry) > time.time()
        except ValueError:
            return False


def content_response(blob: ArtifactBlob, range_header: str | None, *, signed: bool) -> Response:
    """The bytes with Skyvern's content headers and single-range support (206/416)."""
    data = blob.served_bytes()
    headers = {
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600" if signed else "private, no-cache",
        "Content-Disposition": _disposition(blob),
    }
    media_type = CONTENT_TYPES.get(blob.artifact_type, "application/json")
    window = _parse_range(range_header, len(data))
    if window == "unsatisfiable":
        headers["Content-Range"] = f"bytes */{len(data)}"
        return Response(status_code=416, headers=headers)
    if isinstance(window, tuple):
        start, end = window
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(
            data[start : end + 1], status_code=206, headers=headers, media_type=media_type
        )
    return Response(data, headers=headers, media_type=media_type)


def _disposition(blob: ArtifactBlob) -> str:
    if blob.artifact_type != "download":
        return "inline"
    name = blob.filename or blob.artifact_id
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 else "_" for ch in ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _parse_range(header: str | None, length: int) -> tuple[int, int] | str | None:
    """None: serve everything; a (start, end) window; or "unsatisfiable"."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None  # absent, foreign unit or multi-range: Skyvern ignores it
    first, _, last = header[len("bytes=") :].strip().partition("-")
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0 or length == 0:
                return "unsatisfiable"
            return (max(0, length - suffix), length - 1)
        start = int(first)
        end = int(last) if last else length - 1
    except ValueError:
        return None
    if start >= length or end < start:
        return "unsatisfiable"
    return (start, min(end, length - 1))


class FileOrigin:
    """The second origin: serves signed links and remembers every request's headers."""

    def __init__(self, signer: LinkSigner, find_blob: Any) -> None:
        self.signer = signer
        self.find_blob = find_blob  # artifact_id -> ArtifactBlob | None (only finished ones)
        self.requests: deque[dict[str, Any]] = deque(maxlen=100_000)

    def app(self, middleware_wrap: Any) -> Any:
        routes = [
            Route("/artifacts/{artifact_id}/{name:path}", self.serve, methods=["GET", "HEAD"])
        ]
        return middleware_wrap(Starlette(routes=routes), "file")

    async def serve(self, request: Request) -> Response:
        self.requests.append(
            {
                "method": request.method,
                "path": request.url.path,
                "headers": {key.lower(): value for key, value in request.headers.items()},
            }
        )
        artifact_id = request.path_params["artifact_id"]
        params = request.query_params
        if not self.signer.verify(artifact_id, params.get("expiry"), params.get("sig")):
            return JSONResponse({"detail": "Invalid or expired artifact URL"}, status_code=403)
        blob = self.find_blob(artifact_id)
        if blob is None:
            return JSONResponse({"detail": f"Artifact not found {artifact_id}"}, status_code=404)
        return content_response(blob, request.headers.get("range"), signed=True)
