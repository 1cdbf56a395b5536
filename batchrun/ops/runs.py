"""`runs`: the batch instances of a spec in its state file, oldest first."""

from __future__ import annotations

from dataclasses import dataclass

from batchrun.ops.context import BatchContext
from batchrun.state import BatchRecord
from batchrun.summary import BatchSummary, summarise


@dataclass(frozen=True)
class Instance:
    batch: BatchRecord
    summary: BatchSummary


def instances(ctx: BatchContext) -> list[Instance]:
    spec_ids = [task.id for task in ctx.spec.tasks]
    return [
        Instance(batch, summarise(ctx.store, batch, spec_ids))
        for batch in ctx.store.list_batches(ctx.spec.name)
    ]
