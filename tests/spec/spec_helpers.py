"""Writing small specs into tmp_path for the spec tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from batchrun.spec import BatchSpec, SpecError, load_spec


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load_text(directory: Path, text: str, environ: Mapping[str, str] | None = None) -> BatchSpec:
    return load_spec(write_spec(directory, text), environ=environ or {})


def issues_of(directory: Path, text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The issues as `line:col: message` (the path is always the same here)."""
    path = write_spec(directory, text)
    try:
        load_spec(path, environ=environ or {})
    except SpecError as exc:
        return [f"{issue.line}:{issue.col}: {issue.message}" for issue in exc.issues]
    raise AssertionError("the spec loaded without problems")
