"""Attempt keys: a unique key in every create request, where the runs list can find it.

Skyvern's run endpoints have no idempotency key (docs/skyvern-api.md §2, §9), so every
submit carries a unique key where `GET /v1/runs` can find it:
- tasks on skyvern-1.0/3.0/CUA engines: in `title`, which is stored and searchable;
- skyvern-2.0 tasks: nowhere (title is ignored there); they are found by url, creation
  window and the `run_request` echo (prompt + url);
- workflow runs: in `run_metadata`, which becomes the run tag `batchrun:<key>`.
"""

from __future__ import annotations

import base64
import copy
import re
import secrets
from typing import Any, Literal

import httpx

METADATA_KEY = "batchrun"
_MIN_SEARCH_LENGTH = 3  # the server rejects shorter search keys
_TITLE_IGNORING_ENGINES = frozenset({"skyvern-2.0"})
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9\-._~/]*$")


def new_attempt_key() -> str:
    """A unique, URL- and title-safe key: "br-" and 12 lowercase base32 characters."""
    return "br-" + base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:12].lower()


def title_marker(key: str) -> str:
    return f"[{key}]"


def task_title_is_searchable(body: dict[str, Any]) -> bool:
    # `publish_workflow: true` forces skyvern-2.0 whatever the engine says.
    engine = body.get("engine") or "skyvern-1.0"
    return engine not in _TITLE_IGNORING_ENGINES and body.get("publish_workflow") is not True


def tag_request(
    body: dict[str, Any], *, kind: Literal["task", "workflow"], key: str, label: str
) -> dict[str, Any]:
    """A copy of `body` carrying `key` where the list endpoint can find it."""
    tagged = copy.deepcopy(body)
    if kind == "workflow":
        tagged["run_metadata"] = {**(tagged.get("run_metadata") or {}), METADATA_KEY: key}
    elif task_title_is_searchable(tagged):
        tagged["title"] = f"{tagged.get('title') or label} {title_marker(key)}"
    return tagged


def url_search_key(url: str | None) -> str | None:
    """The part of `url` surely found verbatim in the server's stored (normalized) url.

    The server adds a scheme, lowercases the host and may re-encode the path and query,
    so only host plus a plain path is searched; the run_request echo decides the rest.
    """
    if not url:
        return None
    parsed = parse_url(url)
    if parsed is None:
        return None
    path = parsed.path if _PLAIN_PATH.match(parsed.path) else ""
    key = (parsed.host + path.rstrip("/")).lower() if parsed.host else ""
    return key if len(key) >= _MIN_SEARCH_LENGTH else None


def parse_url(url: str) -> httpx.URL | None:
    text = url.strip()
    if "://" not in text:
        text = "https://" + text  # the server prepends a scheme the same way
    try:
        return httpx.URL(text)
    except httpx.InvalidURL:
        return None
