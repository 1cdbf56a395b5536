"""Outputs as columns: an object output's scalar leaves become table columns.

The spec's data_extraction_schema is not in the results directory, so the columns are
inferred from the outputs themselves: every leaf path seen (`price`, `seller.name`) is
counted in the first pass, the most common few become columns, and whatever they do not show
(a non-object output, a rare key) goes to one `other` column so nothing is hidden silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_COLUMNS = 8
MAX_TRACKED_PATHS = 256  # leaf paths counted; a batch with wilder outputs gets `other`
MAX_DEPTH = 2  # objects nested deeper than this are one column of short JSON
MAX_CELL_CHARS = 120


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str  # "text", "num", "json" (a list or deep object), "null", "missing"


@dataclass(frozen=True)
class OutputColumns:
    paths: tuple[str, ...]
    other: bool  # some output shows (partly) in the `other` column


class ColumnCounter:
    """Counts leaf paths over the first pass; bounded by MAX_TRACKED_PATHS."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}  # insertion order is first-seen order
        self._other = False

    def observe(self, output: Any) -> None:
        if output is None:
            return
        if not isinstance(output, dict) or not output:
            self._other = True
            return
        for path, _ in leaves(output):
            if path in self._counts:
                self._counts[path] += 1
            elif len(self._counts) < MAX_TRACKED_PATHS:
                self._counts[path] = 1
            else:
                self._other = True

    def columns(self) -> OutputColumns:
        ranked = sorted(self._counts, key=lambda path: -self._counts[path])[:MAX_COLUMNS]
        chosen = set(ranked)
        paths = tuple(path for path in self._counts if path in chosen)  # first-seen order
        return OutputColumns(paths, self._other or len(self._counts) > len(paths))


def leaves(output: dict[Any, Any], prefix: str = "", depth: int = 1) -> Iterator[tuple[str, Any]]:
    for key, value in output.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and depth < MAX_DEPTH:
            yield from leaves(value, path, depth + 1)
        else:
            yield path, value


def split_output(
    output: Any, columns: OutputColumns, rest_limit: int
) -> tuple[tuple[Cell, ...], str]:
    """The cells of one output for `columns`, and a preview of whatever they leave out."""
    if not isinstance(output, dict) or not output:
        missing = tuple(Cell("", "missing") for _ in columns.paths)
        return missing, "" if output is None else _clip(_json_or_text(output), rest_limit)
    flat = dict(leaves(output))
    cells = tuple(
        _cell(flat[path]) if path in flat else Cell("", "missing") for path in columns.paths
    )
    rest = {path: value for path, value in flat.items() if path not in columns.paths}
    return cells, _clip(_json_or_text(rest), rest_limit) if rest else ""


def _cell(value: Any) -> Cell:
    if value is None:
        return Cell("null", "null")
    if isinstance(value, bool):
        return Cell("true" if value else "false", "text")
    if isinstance(value, int | float):
        return Cell(str(value), "num")
    if isinstance(value, str):
        return Cell(_clip(value, MAX_CELL_CHARS), "text")
    return Cell(_clip(json.dumps(value, ensure_ascii=False), MAX_CELL_CHARS), "json")


def _json_or_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
