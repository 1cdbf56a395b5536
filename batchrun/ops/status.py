"""`status`: where an instance stands, from the state alone: the summary model, what the
next `apply` would do (the same decision `plan` shows), and the tasks needing attention."""

from __future__ import annotations

from dataclasses import dataclass, field

from batchrun.decide import NO_RETRY, Action, RetryRequest, decide
from batchrun.ops.context import BatchContext
from batchrun.ops.plan import decide_tasks
from batchrun.state import BatchRecord, TaskRecord
from batchrun.summary import BatchSummary, summarise

# States whose tasks are listed by default, in this order: what a person looks at first.
ATTENTION_ORDER = (
    "failed",
    "canceled",
    "running",
    "submitting",
    "retry_wait",
    "pending",
    "flagged",
)
DEFAULT_PER_STATE = 20


@dataclass
class Status:
    batch: BatchRecord
    summary: BatchSummary
    next_apply: dict[Action, int]
    listed: dict[str, list[TaskRecord]] = field(default_factory=dict)  # group -> tasks
    hidden: dict[str, int] = field(default_factory=dict)  # group -> tasks not listed


def status(
    ctx: BatchContext,
    batch: BatchRecord,
    *,
    per_state: int | None = DEFAULT_PER_STATE,
    only_state: str | None = None,
    retry: RetryRequest = NO_RETRY,
    spec_unchanged: bool = False,
) -> Status:
    """`spec_unchanged`: the state proved the spec as its last sync had it
    (`ops/unchanged.py`), so its tasks are the stored ones and `ctx.spec` need not hold them."""
    spec, store = ctx.spec, ctx.store
    wanted = None if spec_unchanged else [task.id for task in spec.tasks]
    summary = summarise(
        store,
        batch,
        wanted,
        results_dir=ctx.results_for(batch).path,
        spec_path=spec.path,
        state_path=ctx.location.state_path,
    )
    next_apply = dict.fromkeys(Action, 0)
    stored = store.stored_tasks(batch.id)
    if spec_unchanged:
        for row in stored.values():
            if not row.removed:
                next_apply[decide(row, row.content_hash, retry)] += 1
    else:
        for item in decide_tasks(spec.tasks, stored, retry):
            next_apply[item.action] += 1
    result = Status(batch, summary, next_apply)
    wanted_ids = set(wanted) if wanted is not None else None
    for record in store.task_records(batch.id):
        if wanted_ids is not None and record.task_id not in wanted_ids:
            continue
        group = attention_group(record)
        if group is None or (only_state is not None and group != only_state):
            continue
        listed = result.listed.setdefault(group, [])
        if per_state is None or len(listed) < per_state:
            listed.append(record)
        else:
            result.hidden[group] = result.hidden.get(group, 0) + 1
    result.listed = {g: result.listed[g] for g in ATTENTION_ORDER if g in result.listed}
    return result


def attention_group(record: TaskRecord) -> str | None:
    """The group a task is listed under, or None for a succeeded task with a good output."""
    if record.state != "succeeded":
        return record.state
    return "flagged" if record.output_verdict in ("invalid", "empty") else None
