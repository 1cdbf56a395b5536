"""Every results file appears complete under its final name, or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchrun.export.atomic import (
    atomic_output,
    atomic_write_text,
    is_temp_file,
    remove_stale_temp_files,
    temp_path_for,
)


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.json"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.json"]


def test_error_inside_the_block_keeps_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "data.bin"
    atomic_write_text(target, "complete")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write(b"partial")
        raise RuntimeError("download failed")
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


def test_stale_temp_files_are_recognised_and_removed(tmp_path: Path) -> None:
    keep = tmp_path / "tasks" / "t1" / "files" / "report.tmp-0123456789ab"
    keep.parent.mkdir(parents=True)
    keep.write_text("a real file whose name only looks odd")
    stale = temp_path_for(keep.parent / "big.zip")
    stale.write_bytes(b"half a download")
    assert is_temp_file(stale.name) and not is_temp_file(keep.name)
    assert remove_stale_temp_files(tmp_path) == 1
    assert not stale.exists() and keep.exists()
