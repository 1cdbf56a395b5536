"""Secrets never reach the state file: a connection that scrubs every written value."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


class RedactingConnection:
    """An sqlite3 connection whose writes have every secret replaced by `***`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.secrets: set[str] = set()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, self._clean(params) if self.secrets else params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        if self.secrets:
            rows = [self._clean(row) for row in rows]
        return self._conn.executemany(sql, rows)

    def close(self) -> None:
        self._conn.close()

    def _clean(self, params: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(self._scrub(value) if isinstance(value, str) else value for value in params)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
            escaped = json.dumps(secret, ensure_ascii=False)[1:-1]  # as it appears inside JSON
            if escaped != secret and escaped in text:
                text = text.replace(escaped, "***")
        return text
