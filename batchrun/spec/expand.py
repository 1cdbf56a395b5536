"""`for_each` rows: inline, from a CSV file with a header row, or from a JSONL file.

Each row remembers where it was written, so a problem with it names the file and line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchrun.spec.errors import SourceLocation, SpecError, SpecIssue
from batchrun.spec.models import MAX_ROWS, ForEach
from batchrun.spec.source_files import (
    DEFAULT_MAX_INPUT_BYTES,
    RAISE_HINT,
    display_path_near,
    read_lines,
)
from batchrun.spec.strict_json import loads_strict
from batchrun.spec.validation import dotted
from batchrun.spec.yaml_positions import DataPath, PositionMap


@dataclass(frozen=True, slots=True)
class Row:
    values: dict[str, Any]
    number: int  # 1-based, header excluded
    location: SourceLocation  # where the row was written
    file: str | None  # display path of the CSV/JSONL file; None for inline rows
    header: tuple[str, ...] | None = None  # CSV columns, known for every row

    def describe(self) -> str:
        return describe_row(self.number, self.location.line, self.file)


def describe_row(number: int, line: int, file: str | None) -> str:
    """How a message names a row: "row 3 of products.csv:4", "for_each row 3, line 12"."""
    if file is None:
        return f"for_each row {number}, line {line}"
    return f"row {number} of {file}:{line}"


def stream_rows(
    for_each: ForEach,
    entry_path: DataPath,
    positions: PositionMap,
    spec_path: Path,
    issues: list[SpecIssue],
    *,
    max_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    max_rows: int = MAX_ROWS,
) -> Iterator[Row]:
    """The rows of one `for_each`, the file read line by line as they are taken, so that a
    million rows are never in memory at once. File problems are added to `issues` (never
    raised); the list is complete once the rows are exhausted."""
    if for_each.rows is not None:
        for number, values in enumerate(for_each.rows, start=1):
            where = positions.value((*entry_path, "for_each", "rows", number - 1))
            yield Row(values, number, where, None)
        return
    relative = for_each.csv if for_each.csv is not None else for_each.jsonl
    assert relative is not None
    display = display_path_near(positions.path, relative)
    what = "CSV file" if for_each.csv is not None else "JSONL file"
    lines = read_lines(
        spec_path.parent / relative, display, what=what, max_bytes=max_bytes, hint=RAISE_HINT
    )
    try:
        if for_each.csv is not None:
            yield from _csv_rows(lines, display, max_rows, issues)
        else:
            yield from _jsonl_rows(lines, display, max_rows, issues)
    except SpecError as exc:
        # Point at the spec's reference too: the file name alone does not say who wanted it.
        key_path = (*entry_path, "for_each", "csv" if for_each.csv is not None else "jsonl")
        where = positions.value(key_path)
        issues.extend(
            SpecIssue.at(where, f"{dotted(key_path)}: {issue.message}: {display}")
            for issue in exc.issues
        )


def _too_many(max_rows: int) -> str:
    return f"more than {max_rows} rows; raise limits.max_tasks to load more"


def _csv_rows(
    lines: Iterator[str], display: str, max_rows: int, issues: list[SpecIssue]
) -> Iterator[Row]:
    reader = csv.reader(lines, strict=True)
    header: tuple[str, ...] | None = None
    count = 0
    line = 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not cells or cells == [""]:
                continue
            if header is None:
                header = tuple(cell.strip() for cell in cells)
                header_issues = _header_issues(header, display, start)
                if header_issues:
                    issues.extend(header_issues)
                    return  # rows read under a broken header would only add noise
                continue
            count += 1
            if count > max_rows:
                issues.append(SpecIssue(display, start, 1, _too_many(max_rows)))
                return
            if len(cells) > len(header):
                message = f"row {count} has {len(cells)} cells; the header has {len(header)}"
                issues.append(SpecIssue(display, start, 1, message))
                continue
            values = dict(zip(header, cells, strict=False))
            yield Row(values, count, SourceLocation(display, start, 1), display, header)
    except csv.Error as exc:
        issues.append(SpecIssue(display, reader.line_num or 1, 1, f"invalid CSV: {exc}"))
        return
    if header is None:
        issues.append(SpecIssue(display, 1, 1, "CSV file is empty: it needs a header row"))


def _header_issues(header: tuple[str, ...], display: str, line: int) -> list[SpecIssue]:
    issues = []
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if not name:
            issues.append(SpecIssue(display, line, 1, f"header column {index} has no name"))
        elif name in seen:
            issues.append(SpecIssue(display, line, 1, f"header names column {name!r} twice"))
        seen.add(name)
    return issues


def _jsonl_rows(
    lines: Iterator[str], display: str, max_rows: int, issues: list[SpecIssue]
) -> Iterator[Row]:
    count = 0  # rows read, bad ones included: a row's number is its place in the file
    good = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count += 1
        try:
            values = loads_strict(line)
        except json.JSONDecodeError as exc:
            issues.append(SpecIssue(display, line_number, exc.colno, f"invalid JSON: {exc.msg}"))
            continue
        except (ValueError, RecursionError) as exc:
            issues.append(SpecIssue(display, line_number, 1, f"invalid JSON: {exc}"))
            continue
        if not isinstance(values, dict):
            issues.append(SpecIssue(display, line_number, 1, f"row {count} is not a JSON object"))
            continue
        good += 1
        if good > max_rows:
            issues.append(SpecIssue(display, line_number, 1, _too_many(max_rows)))
            return
        yield Row(values, count, SourceLocation(display, line_number, 1), display)
    if count == 0:
        issues.append(SpecIssue(display, 1, 1, "JSONL file has no rows"))
