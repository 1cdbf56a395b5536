"""Errors as the command line prints them under `--log-format json`: one JSON object a line."""

from __future__ import annotations

import json
import time
from typing import Any

import click

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
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": "error",
        "kind": "error",
        "message": message,
        "exit_code": int(exit_code),
    }
    if path is not None:
        record |= {"file": path, "line": line, "col": col}
    click.echo(json.dumps(record, ensure_ascii=False), err=True)


def echo_json_warning(message: str, path: str, line: int, col: int) -> None:
    """A spec warning as one JSON object: the run goes on, so there is no exit code."""
    record: dict[str, Any] = {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": "warning",
        "kind": "spec_warning",
        "message": message,
        "file": path,
        "line": line,
        "col": col,
    }
    click.echo(json.dumps(record, ensure_ascii=False), err=True)
