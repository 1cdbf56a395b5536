"""Errors as the command line prints them under `--log-format json`: one JSON object a line."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from batchrun.console.wording import utc_timestamp

# Set in `ctx.meta` by a command running with `--log-format json`: then every line on
# stderr is one JSON object, errors included.
JSON_ERRORS = "batchrun.json_errors"


def echo_json_error(
    message: str,
    exit_code: int,
    path: str | None = None,
    line: int | None = None,
    col: int | None = None,
) -> None:
    record: dict[str, Any] = {
        "ts": utc_timestamp(time.time(), milliseconds=True),  # as the event lines have it
        "level": "error",
        "kind": "error",
        "message": message,
        "exit_code": int(exit_code),
    }
    if path is not None:
        record |= {"file": path, "line": line, "col": col}
    _echo(record)


def echo_json_warning(
    message: str,
    path: str | None = None,
    line: int | None = None,
    col: int | None = None,
) -> None:
    """A warning as one JSON object (a spec warning has its position): the run goes on, so
    there is no exit code."""
    record: dict[str, Any] = {
        "ts": utc_timestamp(time.time(), milliseconds=True),  # as the event lines have it
        "level": "warning",
        "kind": "spec_warning" if path is not None else "warning",
        "message": message,
    }
    if path is not None:
        record |= {"file": path, "line": line, "col": col}
    _echo(record)


def _echo(record: dict[str, Any]) -> None:
    # Encoded as the event lines are, so a log shipper sees one shape on both streams.
    click.echo(json.dumps(record, ensure_ascii=False, separators=(",", ":")), err=True)
