"""`GET /v1/runs`: newest first, filtered by type, status, search text, workflow and tags."""

from __future__ import annotations

from typing import Any

from batchrun.sim.lifecycle import Run, RunState
from batchrun.sim.requests import ListRunsQuery
from batchrun.sim.responses import RunResponses
from batchrun.sim.runbook import ApiError, iso, maybe_wall

SEARCH_MATCH_LIMIT = 1000


class RunListing(RunResponses):
    def list_runs(self, query: ListRunsQuery) -> list[dict[str, Any]]:
        tag_filter = _parse_tags(query.tags) if query.tags else None
        needle = query.search_key.lower() if query.search_key else None
        searching = needle is not None or bool(query.workflow_permanent_id)
        skip = (query.page - 1) * query.page_size
        if searching and skip >= SEARCH_MATCH_LIMIT:
            raise ApiError(
                400,
                {
                    "detail": f"Search pagination is limited to the first {SEARCH_MATCH_LIMIT} "
                    "matches. Use a narrower search."
                },
            )
        statuses = {str(s) for s in query.status} if query.status else None
        run_types = {str(t) for t in query.run_type} if query.run_type else None
        wpids = set(query.workflow_permanent_id or ())
        now = self.clock() - self.scenario.list_status_lag * self.time_scale
        items: list[dict[str, Any]] = []
        for run in reversed(self.runs):
            if run_types and run.run_type not in run_types:
                continue
            if needle is not None and needle not in run.search_text:
                continue
            if wpids and self._wpid(run) not in wpids:
                continue
            if tag_filter is not None and not _tags_match(run.tags, tag_filter):
                continue
            state = run.state_at(now)
            if statuses and state.status not in statuses:
                continue
            if skip:
                skip -= 1
                continue
            items.append(self._list_item(run, state))
            if len(items) >= query.page_size:
                break
        return items

    def _wpid(self, run: Run) -> str | None:
        if run.is_workflow:
            return run.request.get("workflow_id")
        if run.run_type == "task_v2":
            return f"wpid_{run.num}"
        return None

    def _list_item(self, run: Run, state: RunState) -> dict[str, Any]:
        if run.run_type == "task_v2" or run.is_workflow:
            title = self.workflow_title(run)
        else:
            title = run.request.get("title")
        return {
            "task_run_id": f"tr_{run.num}",
            "run_id": run.run_id,
            "task_run_type": run.run_type,
            "status": state.status,
            "title": title,
            "started_at": maybe_wall(run, state.started_offset),
            "finished_at": maybe_wall(run, state.finished),
            "created_at": iso(run.created_wall),
            # A real server does not name a skyvern-2.0 run's generated workflow in the list.
            "workflow_permanent_id": self._wpid(run) if run.is_workflow else None,
            "workflow_deleted": False,
            "script_run": False,
            "trigger_type": None,  # runs created through the API list none
            "created_by": None,
            "attempt": state.attempt,
            "retry_pending": state.retry_pending,
            "next_attempt_at": maybe_wall(run, state.next_attempt),
        }


def _parse_tags(terms: list[str]) -> dict[str, set[str] | None]:
    """`key:value`, `key:*` or a bare label; comma-separated or repeated. Keys AND, values OR."""
    wanted: dict[str, set[str] | None] = {}
    for raw in terms:
        for term in raw.split(","):
            term = term.strip()
            if not term:
                continue
            key, sep, value = term.partition(":")
            if not key or (sep and not value):
                raise ApiError(400, {"detail": f"Invalid tag filter term: {term!r}"})
            if not sep:
                wanted.setdefault(key, None)
                continue
            if value == "*":
                wanted.setdefault(key, None)
                continue
            values = wanted.get(key)
            if key in wanted and values is None:
                continue
            wanted.setdefault(key, set()).add(value)  # type: ignore[union-attr]
    if sum(1 for _ in wanted) > 20:
        raise ApiError(400, {"detail": "At most 20 tag terms are allowed"})
    return wanted


def _tags_match(tags: frozenset[str], wanted: dict[str, set[str] | None]) -> bool:
    for key, values in wanted.items():
        if values is None:
            if key not in tags and not any(tag.startswith(f"{key}:") for tag in tags):
                return False
        elif not any(f"{key}:{value}" in tags for value in values):
            return False
    return True
