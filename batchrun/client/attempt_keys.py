"""Attempt keys: finding the run an ambiguous submit may have created.

Skyvern's run endpoints have no idempotency key, so every submit carries a unique key
where `GET /v1/runs` can find it (skyvern-api.md §9):
- tasks on skyvern-1.0/3.0/CUA engines: in `title`, which is stored and searchable;
- skyvern-2.0 tasks: nowhere (title is ignored there); they are found by url, creation
  window and the `run_request` echo (prompt + url);
- workflow runs: in `run_metadata`, which becomes the run tag `batchrun:<key>`.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import httpx

from batchrun.client.errors import AuthError, BadRequestError, NotFoundError
from batchrun.client.models import RunListItem, RunResponse, RunType

if TYPE_CHECKING:
    from batchrun.client.api import SkyvernClient

METADATA_KEY = "batchrun"
DEFAULT_SKEW = timedelta(minutes=5)  # server clock vs ours, and submit-to-commit delay
PAGE_SIZE = 100
MAX_SEARCH_PAGES = 10  # a search reaches only its first 1000 matches anyway
MAX_RECENT_PAGES = 3  # unfiltered listing when there is nothing to search by
MAX_INSPECTED_RUNS = 100  # GETs spent comparing run_request echoes
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


async def find_attempt_run(
    client: SkyvernClient,
    *,
    kind: Literal["task", "workflow"],
    body: dict[str, Any],
    key: str,
    sent_at: datetime,
    exclude_run_ids: Collection[str] = (),
    skew: timedelta = DEFAULT_SKEW,
) -> RunResponse | None:
    """The run created by the attempt `key` submitted at `sent_at` with `body`, or None.

    `exclude_run_ids` are runs already known to belong to other attempts; pass every run
    the batch knows of, because the skyvern-2.0 and tag-less workflow paths can only tell
    apart runs of the same task by that and by creation time.
    """
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=UTC)
    excluded = frozenset(exclude_run_ids)
    since = sent_at - skew
    if kind == "workflow":
        return await _find_workflow_run(client, body, key, since, excluded)
    if task_title_is_searchable(body):
        return await _find_by_title(client, key, excluded)
    return await _find_task_v2_run(client, body, since, excluded)


async def _find_by_title(
    client: SkyvernClient, key: str, excluded: frozenset[str]
) -> RunResponse | None:
    marker = title_marker(key)
    # No run_type filter: the server may run another engine than the one requested.
    items = await _list_all(client, MAX_SEARCH_PAGES, search_key=key)
    found = [i for i in items if marker in (i.title or "") and i.run_id not in excluded]
    return await _first_existing(client, _oldest_first(found))


async def _find_task_v2_run(
    client: SkyvernClient, body: dict[str, Any], since: datetime, excluded: frozenset[str]
) -> RunResponse | None:
    url = body.get("url")
    search = url_search_key(url)
    pages = MAX_SEARCH_PAGES if search else MAX_RECENT_PAGES
    items = await _list_all(
        client, pages, search_key=search, run_type=[RunType.TASK_V2], since=since
    )
    candidates = [i for i in items if i.run_id not in excluded]
    for item in _oldest_first(candidates)[:MAX_INSPECTED_RUNS]:
        run = await _get_if_exists(client, item.run_id)
        if run is not None and _same_task(run.run_request or {}, body):
            return run
    return None


async def _find_workflow_run(
    client: SkyvernClient,
    body: dict[str, Any],
    key: str,
    since: datetime,
    excluded: frozenset[str],
) -> RunResponse | None:
    try:
        items = await _list_all(client, MAX_SEARCH_PAGES, tags=[f"{METADATA_KEY}:{key}"])
    except (BadRequestError, AuthError):
        # Cloud may answer 403 "Workflow tagging is not enabled"; an actually bad key
        # fails again just below.
        return await _find_workflow_run_by_parameters(client, body, key, since, excluded)
    found = [i for i in items if i.run_id not in excluded]
    return await _first_existing(client, _oldest_first(found))


async def _find_workflow_run_by_parameters(
    client: SkyvernClient,
    body: dict[str, Any],
    key: str,
    since: datetime,
    excluded: frozenset[str],
) -> RunResponse | None:
    workflow_id = body.get("workflow_id") or body.get("agent_id")
    if not workflow_id:
        return None
    items = await _list_all(
        client,
        MAX_SEARCH_PAGES,
        search_key=workflow_id,
        run_type=[RunType.WORKFLOW_RUN],
        since=since,
    )
    candidates = [
        i
        for i in items
        if i.run_id not in excluded and i.workflow_permanent_id in (None, workflow_id)
    ]
    for item in _oldest_first(candidates)[:MAX_INSPECTED_RUNS]:
        run = await _get_if_exists(client, item.run_id)
        if run is not None and _same_workflow_run(run.run_request or {}, body, workflow_id, key):
            return run
    return None


async def _list_all(
    client: SkyvernClient,
    max_pages: int,
    *,
    search_key: str | None = None,
    run_type: list[RunType] | None = None,
    tags: list[str] | None = None,
    since: datetime | None = None,
) -> list[RunListItem]:
    """Pages of the newest-first list, stopping at the first run created before `since`."""
    collected: list[RunListItem] = []
    for page in range(1, max_pages + 1):
        items = await client.list_runs(
            search_key=search_key,
            run_type=run_type or (),
            tags=tags or (),
            page=page,
            page_size=PAGE_SIZE,
        )
        for item in items:
            if since is not None and item.created_at is not None and item.created_at < since:
                return collected
            collected.append(item)
        if len(items) < PAGE_SIZE:
            break
    return collected


def _oldest_first(items: list[RunListItem]) -> list[RunListItem]:
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda item: item.created_at or far_future)


async def _get_if_exists(client: SkyvernClient, run_id: str) -> RunResponse | None:
    try:
        return await client.get_run(run_id)
    except NotFoundError:  # listed but gone (deleted, or another org's stale row)
        return None


async def _first_existing(client: SkyvernClient, items: list[RunListItem]) -> RunResponse | None:
    for item in items:
        run = await _get_if_exists(client, item.run_id)
        if run is not None:
            return run
    return None


def url_search_key(url: str | None) -> str | None:
    """The part of `url` surely found verbatim in the server's stored (normalized) url.

    The server adds a scheme, lowercases the host and may re-encode the path and query,
    so only host plus a plain path is searched; the run_request echo decides the rest.
    """
    if not url:
        return None
    parsed = _parse_url(url)
    if parsed is None:
        return None
    path = parsed.path if _PLAIN_PATH.match(parsed.path) else ""
    key = (parsed.host + path.rstrip("/")).lower() if parsed.host else ""
    return key if len(key) >= _MIN_SEARCH_LENGTH else None


def _parse_url(url: str) -> httpx.URL | None:
    text = url.strip()
    if "://" not in text:
        text = "https://" + text  # the server prepends a scheme the same way
    try:
        return httpx.URL(text)
    except httpx.InvalidURL:
        return None


def _comparable_url(url: str | None) -> tuple[str, ...] | None:
    if not url:
        return None
    parsed = _parse_url(url)
    if parsed is None:
        return (url.strip(),)
    return (
        parsed.host.lower(),
        str(parsed.port or ""),
        parsed.path.rstrip("/"),
        parsed.query.decode("ascii", "replace"),
        parsed.fragment,
    )


def _same_task(echo: dict[str, Any], body: dict[str, Any]) -> bool:
    if (echo.get("prompt") or "").strip() != (body.get("prompt") or "").strip():
        return False
    if not body.get("url"):
        return True  # the server picked the url itself
    return _comparable_url(echo.get("url")) == _comparable_url(body.get("url"))


def _same_workflow_run(
    echo: dict[str, Any], body: dict[str, Any], workflow_id: str, key: str
) -> bool:
    echoed_id = echo.get("workflow_id") or echo.get("agent_id")
    if echoed_id not in (None, workflow_id):
        return False
    metadata = echo.get("run_metadata")
    if isinstance(metadata, dict) and METADATA_KEY in metadata:
        return metadata[METADATA_KEY] == key
    echoed = echo.get("parameters") or {}
    # The echo also holds the workflow's defaults, so what was sent must be a subset.
    return all(
        name in echoed and _same_value(value, echoed[name])
        for name, value in (body.get("parameters") or {}).items()
    )


def _same_value(sent: Any, echoed: Any) -> bool:
    if sent == echoed:
        return True
    try:
        return json.dumps(sent, sort_keys=True) == json.dumps(echoed, sort_keys=True)
    except (TypeError, ValueError):
        return str(sent) == str(echoed)
