"""Keeping a simulator's runs in a SQLite file, so that a restart finds them again.

A real Skyvern keeps its runs when a client goes away; `apply --sim` resumes only if the
simulator does too. A run's status is derived from the clock (see `lifecycle`), so a row is
written only when a run is created and when something the clock cannot tell changes (a
cancel, a new start time from the slot schedule). Creation is kept as wall time: on load it
is turned back into the monotonic clock, so a run in flight when the process stopped goes on
to its end by wall-clock time, as it would have on a real server.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from batchrun.errors import UsageError
from batchrun.sim.lifecycle import Run
from batchrun.sim.scenario import rule_from_data

_FORMAT = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (num INTEGER PRIMARY KEY, record TEXT NOT NULL);
"""


class RunStore:
    """One simulator's runs on disk: a row of JSON per run, keyed by its number."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> RunStore:
        """Opens (or creates) the store; anything unusable is one `UsageError` line."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written on the server's thread after being opened here; never used by two at once.
            db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=0)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot open the simulator store {path}: {exc}") from exc
        store = cls(path, db)
        try:
            # One simulator per store: two would each miss the other's runs. The lock is
            # taken by the first read below and held until the store is closed.
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            # WAL without a sync per commit: a write survives the process being killed,
            # which is what a resumed batch needs, and creating 100,000 runs stays fast.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (_FORMAT,))
            elif found[0] != _FORMAT:
                raise UsageError(
                    f"the simulator store {path} has format {found[0]}, expected {_FORMAT}"
                )
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" in str(exc):
                raise UsageError(
                    f"the simulator store {path} is in use by another simulator"
                ) from exc
            raise UsageError(f"the simulator store {path} is unreadable: {exc}") from exc
        except sqlite3.Error as exc:
            db.close()
            raise UsageError(f"the simulator store {path} is unreadable: {exc}") from exc
        except UsageError:
            db.close()
            raise
        return store

    def signing_key(self) -> bytes:
        """The file links' HMAC key, kept so links handed out before a restart still verify."""
        found = self._db.execute("SELECT value FROM meta WHERE key = 'signing_key'").fetchone()
        if found is not None:
            return bytes.fromhex(found[0])
        key = secrets.token_bytes(32)
        self._db.execute("INSERT INTO meta VALUES ('signing_key', ?)", (key.hex(),))
        return key

    def load(self, *, now_mono: float, now_wall: datetime) -> list[Run]:
        """Every stored run in creation order, its creation moved onto this process's clock."""
        runs: list[Run] = []
        try:
            rows = self._db.execute("SELECT record FROM runs ORDER BY num").fetchall()
            for (record,) in rows:
                runs.append(_run_from_record(json.loads(record), now_mono, now_wall, self.path))
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"the simulator store {self.path} is unreadable: {exc}") from exc
        return runs

    def save(self, runs: Iterable[Run]) -> None:
        rows = [(run.num, json.dumps(_record(run))) for run in runs]
        if not rows:
            return
        with _transaction(self._db):
            self._db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?)", rows)

    def clear(self) -> None:
        self._db.execute("DELETE FROM runs")

    def close(self) -> None:
        self._db.close()


class _transaction:
    """BEGIN ... COMMIT around a write of many rows (one sync, not one per row)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _record(run: Run) -> dict[str, Any]:
    return {
        "num": run.num,
        "run_id": run.run_id,
        "run_type": run.run_type,
        "engine": run.engine,
        "request": run.request,
        "task_key": run.task_key,
        "creation_index": run.creation_index,
        "rule": run.rule.as_data(),
        "created_wall": run.created_wall.isoformat(),
        "time_scale": run.time_scale,
        "api_key": run.api_key,
        "seed": run.seed,
        "wr_id": run.wr_id,
        "search_text": run.search_text,
        "tags": sorted(run.tags),
        "slot_wait": run.slot_wait,
        "cancel_offset": run.cancel_offset,
        "cancels": run.cancels,
    }


def _run_from_record(
    record: dict[str, Any], now_mono: float, now_wall: datetime, path: Path
) -> Run:
    created_wall = datetime.fromisoformat(record["created_wall"])
    run = Run(
        num=int(record["num"]),
        run_id=record["run_id"],
        run_type=record["run_type"],
        engine=record["engine"],
        request=record["request"],
        task_key=record["task_key"],
        creation_index=int(record["creation_index"]),
        rule=rule_from_data(record["rule"], source=f"simulator store {path}"),
        # However long the process was away, the run has aged by the same wall time.
        created_mono=now_mono - (now_wall - created_wall).total_seconds(),
        created_wall=created_wall,
        time_scale=float(record["time_scale"]),
        api_key=record["api_key"],
        seed=int(record["seed"]),
        wr_id=record["wr_id"],
        search_text=record["search_text"],
        tags=frozenset(record["tags"]),
        slot_wait=float(record["slot_wait"]),
    )
    run.cancel_offset = record["cancel_offset"]
    run.cancels = int(record["cancels"])
    return run
