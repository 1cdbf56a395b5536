"""`batchrun merge`: one results directory from the results of a batch's shards.

Each shard of `apply --shards N` writes its own instance directory (outputs.jsonl,
summary.json, tasks/<id>/ for its tasks only), possibly on another machine. Merging builds
the directory a single process would have written, `<results>/<spec name>/<run key>/`:
the tables in spec order, a summary of all shards, report.html and every task's directory.

Nothing is written until every shard has been checked: same spec (the sha256 of the spec
file's bytes), same batch and run key, no task in two shards, each task in the shard its id
hashes to, every shard 0..N-1 present (unless `partial`). The shards' tables are already in
spec order, so they are merged as streams: memory stays flat for a batch of any size.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from batchrun.errors import UsageError
from batchrun.export.atomic import atomic_output, atomic_write_text, is_temp_file
from batchrun.export.results_dir import SUMMARY_FILE, ResultsDir
from batchrun.export.tables import iso_utc, note_output_columns, to_json, write_csv
from batchrun.report import write_report
from batchrun.shards import Shard, shard_of, spec_digest
from batchrun.spec import BatchSpec

OUTPUTS_FILE = "outputs.jsonl"
FINAL_STATES = ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class ShardResults:
    """One shard's instance directory, as read and checked."""

    path: Path
    shard: Shard
    summary: dict[str, Any]
    task_ids: tuple[str, ...]  # in the order of its outputs.jsonl (spec order)


@dataclass(frozen=True)
class MergeReport:
    results_dir: Path
    tasks: int  # rows in the merged tables
    shard_count: int
    merged_shards: tuple[int, ...]
    missing_shards: tuple[int, ...]  # only with partial
    missing_tasks: tuple[str, ...]  # spec tasks found in no shard (only with partial)
    # Shards whose summary says they stopped early (interrupted, or tasks left pending):
    # merged as they are, as one process's interrupted run would be, but worth a warning.
    unfinished: tuple[str, ...] = ()


def merge_shards(
    spec: BatchSpec,
    run_key: str,
    shard_dirs: Sequence[Path],
    *,
    results_root: Path | None = None,
    partial: bool = False,
    report: bool = True,
) -> MergeReport:
    """Check the shards in `shard_dirs`, then write the merged results directory."""
    if not shard_dirs:
        raise UsageError("merge needs at least one SHARD_DIR")
    try:
        target = ResultsDir(results_root or spec.results_dir, spec.name, run_key)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    positions = {task.id: task.position for task in spec.tasks}
    shards = _check_shards(spec, run_key, shard_dirs, target.path, positions)
    count = shards[0].shard.count
    present = {s.shard.index for s in shards}
    missing_shards = tuple(i for i in range(count) if i not in present)
    found = {task_id for s in shards for task_id in s.task_ids}
    missing_tasks = tuple(task.id for task in spec.tasks if task.id not in found)
    if not partial:
        problems = []
        if missing_shards:
            labels = ", ".join(Shard(i, count).label for i in missing_shards)
            problems.append(f"shard(s) {labels} missing")
        # Only possible when a shard's tables lag behind its state (it was stopped early).
        if missing_tasks:
            problems.append(f"{len(missing_tasks)} task(s) in no shard: {_few(missing_tasks)}")
        if problems:
            raise UsageError(
                "; ".join(problems) + " (run the missing shards, or pass --partial to merge "
                "what is there)"
            )

    for result in shards:
        for task_id in result.task_ids:
            _sync_tree(result.path / "tasks" / task_id, target.task_dir(task_id))
    counts, failed = _write_tables(target.path, shards, positions)
    summary = _merged_summary(spec, run_key, shards, counts, failed, missing_tasks, target.path)
    summary["shards"] = {
        "count": count,
        "merged": sorted(present),
        "missing": list(missing_shards),
    }
    atomic_write_text(target.path / SUMMARY_FILE, to_json(summary, indent=2) + "\n")
    if report:
        write_report(target.path)
    return MergeReport(
        results_dir=target.path,
        tasks=sum(counts.values()),
        shard_count=count,
        merged_shards=tuple(sorted(present)),
        missing_shards=missing_shards,
        missing_tasks=missing_tasks,
        unfinished=tuple(filter(None, map(_unfinished, shards))),
    )


def _unfinished(result: ShardResults) -> str:
    pending = int(result.summary.get("pending") or 0)
    interrupted = bool(result.summary.get("interrupted"))
    if not pending and not interrupted:
        return ""
    why = "interrupted" if interrupted else "stopped"
    return f"shard {result.shard.label} {why} with {pending} task(s) pending ({result.path})"


def read_shard(path: Path) -> ShardResults:
    """A shard's instance directory (the one holding its outputs.jsonl and summary.json)."""
    if not (path / OUTPUTS_FILE).is_file():
        raise UsageError(
            f"{path} holds no {OUTPUTS_FILE}: pass each shard's own results directory "
            "(<results>/shard-I-of-N/<spec name>/<run key>/)"
        )
    try:
        summary = json.loads((path / SUMMARY_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{path} has no {SUMMARY_FILE}: that shard has not finished; run it again "
            "(the same command resumes it), or leave it out and pass --partial"
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path / SUMMARY_FILE} cannot be read: {exc}") from None
    shard_entry = summary.get("shard") if isinstance(summary, dict) else None
    try:
        shard = Shard(int(shard_entry["index"]), int(shard_entry["count"]))  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise UsageError(
            f"{path / SUMMARY_FILE} names no shard: it was not written by `apply --shards`"
        ) from None
    assert isinstance(summary, dict)
    return ShardResults(path, shard, summary, tuple(row["task"] for row in _rows(path)))


def _check_shards(
    spec: BatchSpec,
    run_key: str,
    shard_dirs: Sequence[Path],
    target: Path,
    positions: dict[str, int],
) -> list[ShardResults]:
    for path in shard_dirs:
        if path.resolve() == target.resolve():
            raise UsageError(f"{path} is the merged results directory itself, not a shard's")
    shards = [read_shard(path) for path in shard_dirs]
    digest = spec_digest(spec.path)
    wrong = [
        f"{s.path} ({what})"
        for s in shards
        for what in _mismatches(s.summary, digest, spec.name, run_key, spec.path)
    ]
    if wrong:
        raise UsageError("not shards of this batch run: " + "; ".join(wrong))
    counts = sorted({s.shard.count for s in shards})
    if len(counts) > 1:
        listing = ", ".join(f"{s.path} ({s.shard.label})" for s in shards)
        raise UsageError(f"shards of different counts {counts} cannot be merged: {listing}")
    by_index: dict[int, Path] = {}
    owner: dict[str, Path] = {}
    for s in shards:
        if s.shard.index in by_index:
            raise UsageError(
                f"shard {s.shard.label} given twice: {by_index[s.shard.index]} and {s.path}"
            )
        by_index[s.shard.index] = s.path
        previous = -1
        for task_id in s.task_ids:
            if task_id in owner:
                raise UsageError(
                    f"task {task_id!r} is in two shards: {owner[task_id]} and {s.path}"
                )
            owner[task_id] = s.path
            if task_id not in positions:
                raise UsageError(f"task {task_id!r} of {s.path} is not a task of {spec.path}")
            if shard_of(task_id, s.shard.count) != s.shard.index:
                raise UsageError(
                    f"task {task_id!r} of {s.path} does not belong to shard {s.shard.label}"
                )
            if positions[task_id] < previous:
                raise UsageError(f"{s.path / OUTPUTS_FILE} is not in spec order")
            previous = positions[task_id]
    return shards


def _mismatches(
    summary: dict[str, Any], digest: str, batch: str, run_key: str, spec_path: Path
) -> Iterator[str]:
    if summary.get("spec_digest") != digest:
        yield f"another spec than {spec_path}: spec_digest differs"
    if summary.get("batch") != batch:
        yield f"batch {summary.get('batch')!r}, not {batch!r}"
    if summary.get("run_key") != run_key:
        yield f"run key {summary.get('run_key')!r}, not {run_key!r}"


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with (path / OUTPUTS_FILE).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise UsageError(f"{path / OUTPUTS_FILE}:{number}: not JSON") from None
            if not isinstance(row, dict) or not isinstance(row.get("task"), str):
                raise UsageError(f"{path / OUTPUTS_FILE}:{number}: not a task row")
            yield row


def _write_tables(
    target: Path, shards: list[ShardResults], positions: dict[str, int]
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """outputs.jsonl (the shards' rows interleaved by spec position), then outputs.csv from
    it, as `ResultsDir.write_tables` does; returns the counts by state and the failed."""
    counts = dict.fromkeys((*FINAL_STATES, "pending"), 0)
    failed: list[dict[str, Any]] = []
    streams = [((positions[row["task"]], row) for row in _rows(s.path)) for s in shards]
    output_columns: dict[str, None] = {}
    jsonl = target / OUTPUTS_FILE
    with atomic_output(jsonl) as handle:
        for _position, row in heapq.merge(*streams, key=lambda item: item[0]):
            state = row.get("status")
            counts[state if state in FINAL_STATES else "pending"] += 1
            if state in ("failed", "canceled"):
                failed.append(
                    {
                        "task_id": row["task"],
                        "reason": row.get("failure_reason") or state,
                        "run_id": row.get("run_id"),
                        "attempts": row.get("attempts"),
                    }
                )
            note_output_columns(row, output_columns)
            handle.write(f"{to_json(row)}\n".encode())
    with jsonl.open(encoding="utf-8") as lines, atomic_output(target / "outputs.csv") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        write_csv(text, (json.loads(line) for line in lines), output_columns)
        text.flush()
        text.detach()  # atomic_output syncs and closes the file itself
    return counts, failed


def _merged_summary(
    spec: BatchSpec,
    run_key: str,
    shards: list[ShardResults],
    counts: dict[str, int],
    failed: list[dict[str, Any]],
    missing_tasks: Sequence[str],
    target: Path,
) -> dict[str, Any]:
    summaries = [s.summary for s in shards]
    first = [_time(s.get("first_submitted_at")) for s in summaries]
    last = [_time(s.get("last_finished_at")) for s in summaries]
    first_known = [t for t in first if t is not None]
    last_known = [t for t in last if t is not None]
    if first_known and last_known and None not in first and None not in last:
        # The batch as a whole: from its first submission, in any shard, to its last finish.
        wall_time = (max(last_known) - min(first_known)).total_seconds()
    else:
        # Shards that ran side by side: the slowest one is the batch's wall time.
        wall_time = max(float(s.get("wall_time_s") or 0.0) for s in summaries)
    return {
        "batch": spec.name,
        "run_key": run_key,
        "total": len(spec.tasks),
        "succeeded": counts["succeeded"],
        "failed": counts["failed"],
        "canceled": counts["canceled"],
        # Tasks no shard holds are not done either: a partial merge counts them here.
        "pending": counts["pending"] + len(missing_tasks),
        "retries": sum(int(s.get("retries") or 0) for s in summaries),
        "runs": sum(int(s.get("runs") or 0) for s in summaries),
        "steps": sum(int(s.get("steps") or 0) for s in summaries),
        "wall_time_s": round(wall_time, 3),
        "results_dir": str(target),
        "budget_exhausted": any(bool(s.get("budget_exhausted")) for s in summaries),
        "interrupted": any(bool(s.get("interrupted")) for s in summaries),
        "failed_tasks": failed,
        "spec_path": str(spec.path),
        "spec_digest": summaries[0].get("spec_digest"),
        "first_submitted_at": iso_utc(min(first_known)) if first_known else None,
        "last_finished_at": iso_utc(max(last_known)) if last_known else None,
        "missing_tasks": list(missing_tasks),
    }


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _sync_tree(source: Path, destination: Path) -> None:
    """Make `destination` hold what `source` holds: each file copied atomically, files of an
    earlier merge that the shard no longer has (an attempt since rerun) removed."""
    if not source.is_dir():
        if destination.exists():
            shutil.rmtree(destination)
        return
    wanted: set[Path] = set()
    for directory, _dirs, names in os.walk(source):
        for name in names:
            if is_temp_file(name):
                continue  # a killed shard's half-written file, never a result
            relative = Path(directory, name).relative_to(source)
            wanted.add(relative)
            # Not synced one by one (as the shard's own export does not): the tables,
            # written after and synced, are what tells a reader the merge is done.
            with (
                (source / relative).open("rb") as src,
                atomic_output(destination / relative, durable=False) as dst,
            ):
                shutil.copyfileobj(src, dst)
    for directory, _dirs, names in os.walk(destination):
        for name in names:
            relative = Path(directory, name).relative_to(destination)
            if relative not in wanted:
                with contextlib.suppress(FileNotFoundError):
                    (destination / relative).unlink()


def _few(items: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
