"""`plan`: what `apply` would do with each task of an instance, decided by `batchrun.decide`
(the same call `apply` makes), without touching the network or writing anything."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchrun.decide import NO_RETRY, Action, RetryRequest, decide
from batchrun.ops.context import BatchLocation, unknown_run_key
from batchrun.spec import BatchSpec, TaskSpec
from batchrun.state import BatchRecord, StateStore, StoredTask, open_store


@dataclass(frozen=True, slots=True)
class PlannedTask:
    task_id: str
    action: Action
    task: TaskSpec | None  # None for a task the spec no longer has
    stored: StoredTask | None
    changed_fields: tuple[str, ...] = ()  # request paths that differ (action `changed`)


@dataclass(frozen=True)
class Plan:
    location: BatchLocation
    batch: BatchRecord | None  # None: no instance yet (apply starts the first one)
    tasks: list[PlannedTask] = field(default_factory=list)

    @property
    def run_key(self) -> str | None:
        return self.batch.run_key if self.batch is not None else None

    def counts(self) -> dict[Action, int]:
        counts = dict.fromkeys(Action, 0)
        for item in self.tasks:
            counts[item.action] += 1
        return counts


def redacted_request(task: TaskSpec) -> dict[str, Any]:
    """Attempt 1's request as the state keeps it: what `changed` is measured against."""
    request = task.request_for_attempt(1, redacted=True)
    return {"body": request.body, "headers": request.headers, "query": request.query}


def decide_tasks(
    spec_tasks: Sequence[TaskSpec],
    stored: Mapping[str, StoredTask],
    retry: RetryRequest,
    *,
    only: Collection[str] | None = None,
) -> Iterator[PlannedTask]:
    """One decision per task of the spec (in spec order), then one per stored task the spec
    dropped. `only` leaves every other task out (it is neither run nor removed)."""
    for task in spec_tasks:
        if only is not None and task.id not in only:
            continue
        row = stored.get(task.id)
        yield PlannedTask(task.id, decide(row, task.content_hash, retry), task, row)
    if only is not None or not stored:
        return
    in_spec = {task.id for task in spec_tasks}
    for task_id, row in stored.items():
        if task_id not in in_spec and not row.removed:
            yield PlannedTask(task_id, Action.REMOVE, None, row)


def plan(
    location: BatchLocation,
    *,
    run_key: str | None = None,
    retry: RetryRequest = NO_RETRY,
    only: Collection[str] | None = None,
) -> Plan:
    """The plan for instance `run_key` (default: the latest). Reading never creates a file."""
    spec = location.spec
    if not location.state_path.exists():
        if run_key is not None:
            raise unknown_run_key(spec.name, run_key, [])
        return Plan(location, None, list(decide_tasks(spec.tasks, {}, retry, only=only)))
    store = open_store(location.state_path)
    try:
        batch = _instance(store, spec, run_key)
        if batch is None:
            return Plan(location, None, list(decide_tasks(spec.tasks, {}, retry, only=only)))
        planned = list(decide_tasks(spec.tasks, store.stored_tasks(batch.id), retry, only=only))
        return Plan(location, batch, _with_changed_fields(store, batch, planned))
    finally:
        store.close()


def _instance(store: StateStore, spec: BatchSpec, run_key: str | None) -> BatchRecord | None:
    batch = store.find_batch(spec.name, run_key)
    if batch is None and run_key is not None:
        raise unknown_run_key(
            spec.name, run_key, [b.run_key for b in store.list_batches(spec.name)]
        )
    return batch


def _with_changed_fields(
    store: StateStore, batch: BatchRecord, planned: list[PlannedTask]
) -> list[PlannedTask]:
    changed = [item for item in planned if item.action == Action.CHANGED]
    if not changed:
        return planned
    before = store.stored_requests(batch.id, [item.task_id for item in changed])
    fields: dict[str, tuple[str, ...]] = {}
    for item in changed:
        assert item.task is not None
        old = before.get(item.task_id)
        fields[item.task_id] = tuple(request_changes(old, redacted_request(item.task)))
    return [
        PlannedTask(i.task_id, i.action, i.task, i.stored, fields.get(i.task_id, ()))
        for i in planned
    ]


def request_changes(old: Any, new: Any, path: str = "") -> Iterator[str]:
    """The paths (`body.url`, `body.data_extraction_schema.required[1]`) where two requests
    differ; `?` when the old request is not known (a state written by an older batchrun)."""
    if old is None and path == "":
        yield "?"
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                yield child
            else:
                yield from request_changes(old[key], new[key], child)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from request_changes(a, b, f"{path}[{index}]")
        return
    if old != new:
        yield path


def field_names(paths: Sequence[str]) -> list[str]:
    """The request fields behind changed paths, for the text table (`url`, `prompt`)."""
    names: dict[str, None] = {}
    for path in paths:
        parts = path.split(".")
        if parts[0] in ("body", "headers", "query") and len(parts) > 1:
            names.setdefault(parts[1].split("[")[0], None)
        else:
            names.setdefault(path, None)
    return list(names)
