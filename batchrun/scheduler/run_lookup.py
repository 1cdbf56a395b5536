"""Finding the run an ambiguous submit may have created, so that it is never paid twice.

The key `batchrun.client.attempt_keys` put in the request is searched for in the runs list
(docs/skyvern-api.md §9):
- tasks on skyvern-1.0/3.0/CUA engines: by the `title`, which is stored and searchable;
- skyvern-2.0 tasks: the title is ignored there, so by url, creation window and the
  `run_request` echo (prompt + url);
- workflow runs: by the run tag `batchrun:<key>`, or else by their parameters.
It needs only the client's two read calls (`RunReader`), never the client class itself.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from batchrun.client.attempt_keys import (
    METADATA_KEY,
    parse_url,
    task_title_is_searchable,
    title_marker,
    url_search_key,
)
from batchrun.client.errors import AuthError, BadRequestError, NotFoundError
from batchrun.client.models import RunListItem, RunResponse, RunType

DEFAULT_SKEW = timedelta(minutes=5)  # server clock vs ours, and submit-to-commit delay
PAGE_SIZE = 100
MAX_SEARCH_PAGES = 10  # a search reaches only its first 1000 matches anyway
MAX_RECENT_PAGES = 3  # unfiltered listing when there is nothing to search by
MAX_INSPECTED_RUNS = 100  # GETs spent comparing run_request echoes


class RunReader(Protocol):
    """The reads a lookup needs (`SkyvernClient` fits)."""

    async def get_run(self, run_id: str) -> RunResponse: ...

    async def list_runs(
        self,
        *,
        status: Sequence[str] = (),
        run_type: Sequence[str] = (),
        search_key: str | None = None,
        tags: Sequence[str] = (),
        page: int = 1,
        page_size: int = 100,
    ) -> list[RunListItem]: ...


async def find_attempt_run(
    client: RunReader,
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
    client: RunReader, key: str, excluded: frozenset[str]
) -> RunResponse | None:
    marker = title_marker(key)
    # No run_type filter: the server may run another engine than the one requested.
    items = await _list_all(client, MAX_SEARCH_PAGES, search_key=key)
    found = [i for i in items if marker in (i.title or "") and i.run_id not in excluded]
    return await _first_existing(client, _oldest_first(found))


async def _find_task_v2_run(
    client: RunReader, body: dict[str, Any], since: datetime, excluded: frozenset[str]
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
    client: RunReader,
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
    client: RunReader,
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
    client: RunReader,
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


async def _get_if_exists(client: RunReader, run_id: str) -> RunResponse | None:
    try:
        return await client.get_run(run_id)
    except NotFoundError:  # listed but gone (deleted, or another org's stale row)
        return None


async def _first_existing(client: RunReader, items: list[RunListItem]) -> RunResponse | None:
    for item in items:
        run = await _get_if_exists(client, item.run_id)
        if run is not None:
            return run
    return None


def _comparable_url(url: str | None) -> tuple[str, ...] | None:
    if not url:
        return None
    parsed = parse_url(url)
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
