"""Secrets never reach the state file: a connection that masks every written string."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from batchrun.redaction import Redactor


class RedactingConnection:
    """An sqlite3 connection whose writes have every secret replaced by `***`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.redactor = Redactor()

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.redactor.add(secrets)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, self._clean(params) if self.redactor.active else params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if self.redactor.active:
            rows = [self._clean(row) for row in rows]
        return self._conn.executemany(sql, rows)

    def close(self) -> None:
        self._conn.close()

    def _clean(self, params: Sequence[Any]) -> tuple[Any, ...]:
        text = self.redactor.text
        return tuple(text(value) if isinstance(value, str) else value for value in params)
