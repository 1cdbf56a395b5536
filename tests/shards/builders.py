"""Real shard results directories, written by batchrun's own `ResultsDir` writer.

Each shard's directory is what `apply --shards N` leaves (its tasks' rows, summary.json
with `shard` and `spec_digest`, tasks/<id>/); the unsharded directory of the same records
is what one process would have written, for merged results to be compared with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from batchrun.export.results_dir import ResultsDir
from batchrun.shards import Shard, shard_summary_fields
from batchrun.spec import BatchSpec, load_spec

START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@dataclass
class Record:
    """The fields of a state TaskRecord that the results directory is written from."""

    task_id: str
    position: int
    state: str
    attempts: int
    run_id: str | None
    failure_reason: str | None
    output: Any
    output_verdict: str | None
    validation_error: str | None
    step_count: int | None
    started_at: datetime | None
    finished_at: datetime | None
    app_url: str | None
    files: list[dict[str, Any]] = field(default_factory=list)
    run_response: dict[str, Any] | None = None
    timeline: list[Any] | None = None
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    end_status: str | None = None


def write_spec(root: Path, count: int, *, name: str = "prices") -> Path:
    rows = [{"sku": f"{k:05d}"} for k in range(1, count + 1)]
    document = {
        "name": name,
        "results": str(root / "results"),
        "tasks": [
            {
                "id": "price-sku-{sku}",
                "prompt": "Price of item {sku}",
                "url": "https://shop.example.com/item/{sku}",
                "for_each": {"rows": rows},
            }
        ],
    }
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def records_for(spec: BatchSpec) -> list[Record]:
    """A realistic mix: mostly successes with varied outputs, some failures and a canceled."""
    records = []
    for task in spec.tasks:
        k = task.position
        started = START + timedelta(seconds=k)
        state = "failed" if k % 7 == 3 else "canceled" if k == 5 else "succeeded"
        output: Any = {"price": 10 + k, "currency": "EUR"} if state == "succeeded" else None
        if state == "succeeded" and k % 4 == 0:
            output["seller"] = {"name": f"seller {k}"}
        files = []
        if k % 5 == 0:
            path = f"tasks/{task.id}/files/invoice.pdf"
            files = [{"path": path, "filename": "invoice.pdf", "size": 3, "sha256": "x"}]
        records.append(
            Record(
                task_id=task.id,
                position=k,
                state=state,
                attempts=1 + k % 3,
                run_id=f"tsk_{k:06d}",
                failure_reason="the page never loaded" if state == "failed" else None,
                output=output,
                output_verdict=None,
                validation_error=None,
                step_count=2 + k % 4,
                started_at=started,
                finished_at=started + timedelta(seconds=30),
                app_url=f"https://app.example/runs/{k}",
                files=files,
                run_response={"run_id": f"tsk_{k:06d}", "status": state},
            )
        )
    return records


def write_instance(
    root: Path,
    spec: BatchSpec,
    run_key: str,
    records: list[Record],
    shard: Shard | None,
    **summary: Any,
) -> Path:
    """Write a results instance directory as apply does and return its path."""
    results = ResultsDir(root, spec.name, run_key)
    for record in records:
        results.write_task(record)
        for exported in record.files:
            target = results.path / exported["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f"pdf of {record.task_id}".encode())
    results.write_tables(records)
    document = {
        "batch": spec.name,
        "run_key": run_key,
        "total": len(records),
        "succeeded": sum(r.state == "succeeded" for r in records),
        "failed": sum(r.state == "failed" for r in records),
        "canceled": sum(r.state == "canceled" for r in records),
        "pending": sum(r.state not in ("succeeded", "failed", "canceled") for r in records),
        "retries": sum(r.attempts - 1 for r in records),
        "runs": sum(r.attempts for r in records),
        "steps": sum(r.step_count or 0 for r in records),
        "wall_time_s": 60.0,
        "budget_exhausted": False,
        "interrupted": False,
        **shard_summary_fields(shard, spec.path),
        **summary,
    }
    results.write_summary(document)
    return results.path


def write_shards(
    machine_roots: list[Path], spec: BatchSpec, run_key: str, count: int, **summary: Any
) -> list[Path]:
    """Every shard of `count`, shard i written under machine_roots[i % len(machine_roots)]."""
    records = records_for(spec)
    paths = []
    for index in range(count):
        shard = Shard(index, count)
        mine = [r for r in records if shard.contains(r.task_id)]
        root = machine_roots[index % len(machine_roots)] / f"shard-{shard.label}"
        paths.append(write_instance(root, spec, run_key, mine, shard, **summary))
    return paths


def load(path: Path) -> BatchSpec:
    return load_spec(path)
