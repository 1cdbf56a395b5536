"""`apply --diff-from` / `export --diff` write the diff next to the results: diff.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchrun.diffing import compute_diff, write_diff_json
from batchrun.export import atomic


def test_the_file_holds_the_same_document_as_diff_json(tmp_path: Path) -> None:
    old = [{"task": "t", "status": "succeeded", "output": {"price": 1, "note": "é"}}]
    new = [{"task": "t", "status": "succeeded", "output": {"price": 2, "note": "é"}}]
    diff = compute_diff(old, new, from_key="mon", to_key="tue")
    path = tmp_path / "results" / "prices" / "tue" / "diff.json"
    write_diff_json(diff, path)
    assert json.loads(path.read_text(encoding="utf-8")) == diff.as_json()
    assert [p.name for p in path.parent.iterdir()] == ["diff.json"]  # no temp file left


def test_a_write_that_fails_at_the_last_moment_leaves_the_previous_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "diff.json"
    write_diff_json(compute_diff([], [], from_key="mon", to_key="tue"), path)
    before = path.read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    # The file is complete only once renamed into place: fail the rename.
    monkeypatch.setattr(atomic.os, "replace", disk_full)
    newer = compute_diff([], [{"task": "a", "status": "succeeded"}], from_key="tue", to_key="wed")
    with pytest.raises(OSError, match="No space left"):
        write_diff_json(newer, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["diff.json"]
