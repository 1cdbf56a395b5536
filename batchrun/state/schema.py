"""The SQLite schema of the state file, versioned as a chain of forward migrations.

A state file written by an older batchrun is migrated in place when it is opened; a newer
one is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("batchrun")
_KNOWN: list[str] = []


def _migration(fn: Callable[[Database], None]) -> Callable[[Database], None]:
    _KNOWN.append(fn.__name__)
    return MIGRATIONS()(fn)


@_migration
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            spec_name TEXT NOT NULL,
            run_key TEXT NOT NULL,
            spec_path TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            UNIQUE (spec_name, run_key)
        );
        CREATE TABLE tasks (
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            task_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            state TEXT NOT NULL,
            -- the number of remote runs this task may have created, over every `apply`
            attempts INTEGER NOT NULL DEFAULT 0,
            -- attempts counted against the retry policy start again from here on each `apply`
            round_start INTEGER NOT NULL DEFAULT 0,
            run_id TEXT,
            last_status TEXT,
            failure_reason TEXT,
            output_json TEXT,
            output_verdict TEXT,
            validation_error TEXT,
            step_count INTEGER,
            total_steps INTEGER NOT NULL DEFAULT 0,
            started_at TEXT,
            finished_at TEXT,
            next_attempt_at TEXT,
            app_url TEXT,
            run_response_json TEXT,
            timeline_json TEXT,
            files_json TEXT,
            -- 1 once the results directory holds this task's final outcome and files
            exported INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (batch_id, task_id)
        );
        CREATE INDEX tasks_by_state ON tasks (batch_id, state);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            task_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            attempt_key TEXT NOT NULL UNIQUE,
            phase TEXT NOT NULL,
            kind TEXT NOT NULL,
            request_json TEXT NOT NULL,
            reserved_steps INTEGER NOT NULL DEFAULT 0,
            run_id TEXT,
            run_type TEXT,
            status TEXT,
            step_count INTEGER,
            failure_reason TEXT,
            response_json TEXT,
            prepared_at TEXT NOT NULL,
            accepted_at TEXT,
            finished_at TEXT
        );
        CREATE INDEX attempts_by_task ON attempts (batch_id, task_id, number);
        CREATE INDEX attempts_by_phase ON attempts (batch_id, phase);
        CREATE INDEX attempts_by_run ON attempts (run_id);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            ts TEXT NOT NULL,
            kind TEXT NOT NULL,
            level TEXT NOT NULL,
            task_id TEXT,
            attempt INTEGER,
            run_id TEXT,
            status TEXT,
            message TEXT,
            data_json TEXT
        );
        CREATE INDEX events_by_batch ON events (batch_id, id);
        """
    )


@_migration
def m002_batch_usage_counters(db: Database) -> None:
    """What a batch has spent, kept up to date by each transition so budget checks are O(1)."""
    db.executescript(
        """
        ALTER TABLE batches ADD COLUMN runs_used INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN steps_used INTEGER NOT NULL DEFAULT 0;
        UPDATE batches SET
            runs_used = (SELECT COUNT(*) FROM attempts a WHERE a.batch_id = batches.id
                         AND a.phase IN ('prepared', 'unknown', 'accepted', 'finished')),
            steps_used = (SELECT COALESCE(SUM(CASE WHEN a.phase = 'finished'
                                                   THEN COALESCE(a.step_count, 0)
                                                   ELSE a.reserved_steps END), 0)
                          FROM attempts a WHERE a.batch_id = batches.id
                          AND a.phase IN ('prepared', 'unknown', 'accepted', 'finished'));
        """
    )


def known_migration_names() -> frozenset[str]:
    return frozenset(_KNOWN)


@_migration
def m003_instance_lifecycle(db: Database) -> None:
    """How each task ended, which tasks the spec dropped, what each task asked for, and the
    instance's own clock: what `plan`, `status` and the summary read across invocations."""
    db.executescript(
        """
        ALTER TABLE tasks ADD COLUMN end_status TEXT;
        ALTER TABLE tasks ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE tasks ADD COLUMN request_json TEXT;
        ALTER TABLE tasks ADD COLUMN artifacts_json TEXT;
        ALTER TABLE tasks ADD COLUMN queued_s REAL NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN active_s REAL NOT NULL DEFAULT 0;
        ALTER TABLE batches ADD COLUMN stopped_json TEXT;
        UPDATE tasks SET end_status = CASE
            WHEN state = 'succeeded' THEN 'succeeded'
            WHEN state = 'canceled' THEN 'canceled'
            WHEN state = 'failed' AND last_status = 'completed' THEN 'invalid_output'
            WHEN state = 'failed' AND last_status IN ('terminated', 'timed_out') THEN last_status
            WHEN state = 'failed' THEN 'failed'
        END;
        """
    )


@_migration
def m004_tables_fingerprint(db: Database) -> None:
    """What the results tables were last written from (a digest, and the mtime of the JSONL
    they wrote): an `apply` that finds both unchanged does not rewrite the tables."""
    db.executescript("ALTER TABLE batches ADD COLUMN tables_json TEXT;")


@_migration
def m005_spec_fingerprints(db: Database) -> None:
    """The fingerprint of the spec load that last synced an instance's tasks, and what each
    spec file read (files, variable names) and said (name, paths, warnings): with both, an
    `apply` of an instance that has ended proves so without loading the spec
    (`ops/unchanged.py`)."""
    db.executescript(
        """
        ALTER TABLE batches ADD COLUMN spec_fingerprint TEXT;
        CREATE TABLE spec_snapshots (
            spec_key TEXT PRIMARY KEY,
            inputs_json TEXT NOT NULL,
            snapshot_json TEXT NOT NULL,
            saved_at TEXT NOT NULL
        );
        """
    )
