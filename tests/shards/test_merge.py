"""`batchrun merge` on real shard directories, some copied from "other machines"."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from batchrun.cli import BatchrunGroup
from batchrun.commands.merge import merge_command
from batchrun.export.atomic import is_temp_file
from batchrun.shards import Shard

from .builders import load, records_for, write_instance, write_shards, write_spec

RUN = "2026-12-04"
TASKS = 60
COUNT = 3


def merge(*args: str | Path) -> Result:
    # The command as `batchrun` registers it: errors become a message and exit code 2.
    group = BatchrunGroup("batchrun", commands=[merge_command])
    return CliRunner().invoke(group, ["merge", *map(str, args)])


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    return write_spec(tmp_path, TASKS)


@pytest.fixture
def single(tmp_path: Path, spec_path: Path) -> Path:
    """What one unsharded process would have written for the same records."""
    spec = load(spec_path)
    return write_instance(tmp_path / "single", spec, RUN, records_for(spec), None)


@pytest.fixture
def shard_dirs(tmp_path: Path, spec_path: Path) -> list[Path]:
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    return write_shards(machines, load(spec_path), RUN, COUNT)


def merged_dir(tmp_path: Path) -> Path:
    return tmp_path / "results" / "prices" / RUN


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_merged_tables_are_what_one_process_writes(
    tmp_path: Path, spec_path: Path, single: Path, shard_dirs: list[Path]
) -> None:
    # One shard comes from a copy on yet another machine, the original gone.
    moved = tmp_path / "copied-from-machine-c" / "shard-1"
    shutil.copytree(shard_dirs[1], moved)
    shutil.rmtree(shard_dirs[1])
    dirs = [shard_dirs[2], moved, shard_dirs[0]]  # in any order

    result = merge(spec_path, "--run", RUN, *dirs)

    assert result.exit_code == 0, result.output
    merged = merged_dir(tmp_path)
    assert f"{merged}: {TASKS} task(s) from shard(s) 0, 1, 2 of 3" in result.output
    for table in ("outputs.jsonl", "outputs.csv"):
        assert (merged / table).read_bytes() == (single / table).read_bytes(), table
    assert files_under(merged / "tasks") == files_under(single / "tasks")
    rows = [json.loads(line) for line in (merged / "outputs.jsonl").read_text().splitlines()]
    assert [row["task"] for row in rows] == [task.id for task in load(spec_path).tasks]
    assert "<html" in (merged / "report.html").read_text().lower()
    assert not [p for p in merged.rglob("*") if is_temp_file(p.name)]


def test_summary_adds_up_the_shards(
    tmp_path: Path, spec_path: Path, single: Path, shard_dirs: list[Path]
) -> None:
    assert merge(spec_path, "--run", RUN, *shard_dirs).exit_code == 0
    merged = json.loads((merged_dir(tmp_path) / "summary.json").read_text())
    whole = json.loads((single / "summary.json").read_text())
    for key in ("batch", "run_key", "total", "succeeded", "failed", "canceled", "pending"):
        assert merged[key] == whole[key], key
    for key in ("retries", "runs", "steps"):
        assert merged[key] == whole[key], key
    assert merged["failed"] > 0 and merged["canceled"] == 1
    spec_ids = [task.id for task in load(spec_path).tasks]
    failed_ids = [entry["task_id"] for entry in merged["failed_tasks"]]
    assert failed_ids == sorted(failed_ids, key=spec_ids.index)
    assert len(failed_ids) == merged["failed"] + merged["canceled"]
    assert merged["shards"] == {"count": COUNT, "merged": [0, 1, 2], "missing": []}
    assert merged["missing_tasks"] == []
    assert merged["spec_digest"] == whole["spec_digest"]
    assert merged["results_dir"] == str(merged_dir(tmp_path))


def test_wall_time_spans_first_submission_to_last_finish(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    spans = [("12:00:00", "12:10:00"), ("12:02:00", "12:30:00"), ("11:58:30", "12:05:00")]
    dirs = []
    for index, (first, last) in enumerate(spans):
        shard = Shard(index, 3)
        mine = [r for r in records_for(spec) if shard.contains(r.task_id)]
        times = {
            "first_submitted_at": f"2026-12-04T{first}Z",
            "last_finished_at": f"2026-12-04T{last}Z",
        }
        dirs.append(write_instance(tmp_path / f"s{index}", spec, RUN, mine, shard, **times))
    assert merge(spec_path, "--run", RUN, *dirs).exit_code == 0
    summary = json.loads((merged_dir(tmp_path) / "summary.json").read_text())
    assert summary["wall_time_s"] == 31.5 * 60  # 11:58:30 to 12:30:00
    assert summary["first_submitted_at"] == "2026-12-04T11:58:30Z"
    assert summary["last_finished_at"] == "2026-12-04T12:30:00Z"


def test_wall_time_without_timestamps_is_the_slowest_shard(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    dirs = []
    for index, wall in enumerate([12.5, 40.25]):
        shard = Shard(index, 2)
        mine = [r for r in records_for(spec) if shard.contains(r.task_id)]
        dirs.append(
            write_instance(tmp_path / f"s{index}", spec, RUN, mine, shard, wall_time_s=wall)
        )
    assert merge(spec_path, "--run", RUN, *dirs).exit_code == 0
    summary = json.loads((merged_dir(tmp_path) / "summary.json").read_text())
    assert summary["wall_time_s"] == 40.25


def test_results_option_chooses_where(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = merge(spec_path, "--run", RUN, "--results", elsewhere, "--no-report", *shard_dirs)
    assert result.exit_code == 0, result.output
    assert (elsewhere / "prices" / RUN / "outputs.jsonl").is_file()
    assert not (elsewhere / "prices" / RUN / "report.html").exists()
    assert not merged_dir(tmp_path).exists()


def test_merging_again_after_a_shard_reran_drops_stale_files(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    assert merge(spec_path, "--run", RUN, *shard_dirs).exit_code == 0
    task_dir = next(p for p in (shard_dirs[0] / "tasks").iterdir())
    (task_dir / "timeline.json").write_text("[]")
    assert merge(spec_path, "--run", RUN, *shard_dirs).exit_code == 0
    merged_task = merged_dir(tmp_path) / "tasks" / task_dir.name
    assert (merged_task / "timeline.json").read_text() == "[]"
    (task_dir / "timeline.json").unlink()  # the task succeeded on the rerun
    assert merge(spec_path, "--run", RUN, *shard_dirs).exit_code == 0
    assert not (merged_task / "timeline.json").exists()


# --- refusals (exit 2, naming what is wrong; nothing written) --------------------------------


def refused(tmp_path: Path, result: Result, *named: str) -> None:
    assert result.exit_code == 2, result.output
    assert "batchrun: error:" in result.output
    for name in named:
        assert name in result.output
    assert not merged_dir(tmp_path).exists()


def test_missing_shard_is_refused(tmp_path: Path, spec_path: Path, shard_dirs: list[Path]) -> None:
    result = merge(spec_path, "--run", RUN, shard_dirs[0], shard_dirs[2])
    refused(tmp_path, result, "1-of-3", "--partial")


def test_partial_merges_what_is_there_and_says_what_is_missing(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    result = merge(spec_path, "--run", RUN, "--partial", shard_dirs[0], shard_dirs[2])
    assert result.exit_code == 0, result.output
    assert "shard 1-of-3 is missing" in result.output
    merged = merged_dir(tmp_path)
    summary = json.loads((merged / "summary.json").read_text())
    spec = load(spec_path)
    in_one = [t.id for t in spec.tasks if Shard(1, 3).contains(t.id)]
    assert summary["shards"]["missing"] == [1]
    assert summary["missing_tasks"] == in_one
    assert summary["total"] == TASKS
    rows = [
        json.loads(line)["task"] for line in (merged / "outputs.jsonl").read_text().splitlines()
    ]
    assert rows == [t.id for t in spec.tasks if t.id not in in_one]
    done = summary["succeeded"] + summary["failed"] + summary["canceled"]
    assert summary["pending"] == TASKS - done


def test_same_shard_twice_is_refused(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    copy = tmp_path / "copy-of-0"
    shutil.copytree(shard_dirs[0], copy)
    result = merge(spec_path, "--run", RUN, *shard_dirs, copy)
    refused(tmp_path, result, "0-of-3 given twice", str(copy))


def test_task_in_two_shards_is_refused(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    stray = (shard_dirs[0] / "outputs.jsonl").read_text().splitlines()[0]
    with (shard_dirs[1] / "outputs.jsonl").open("a") as table:
        table.write(stray + "\n")
    task = json.loads(stray)["task"]
    result = merge(spec_path, "--run", RUN, *shard_dirs)
    refused(tmp_path, result, f"task {task!r} is in two shards", str(shard_dirs[1]))


def test_shards_of_another_spec_are_refused(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    spec_path.write_text(spec_path.read_text() + "# edited since the shards ran\n")
    result = merge(spec_path, "--run", RUN, *shard_dirs)
    refused(tmp_path, result, "spec_digest differs", *map(str, shard_dirs))


def test_shards_of_another_batch_are_refused(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    dirs = write_shards([tmp_path / "m"], spec, RUN, 2)
    summary_path = dirs[1] / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary_path.write_text(json.dumps({**summary, "batch": "other-batch"}))
    result = merge(spec_path, "--run", RUN, *dirs)
    refused(tmp_path, result, "batch 'other-batch'", str(dirs[1]))


def test_shards_of_different_run_keys_are_refused(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    first = write_shards([tmp_path / "a"], spec, RUN, 2)
    second = write_shards([tmp_path / "b"], spec, "2026-12-05", 2)
    result = merge(spec_path, "--run", RUN, first[0], second[1])
    refused(tmp_path, result, "run key '2026-12-05'", str(second[1]))


def test_shards_of_different_counts_are_refused(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    of_two = write_shards([tmp_path / "a"], spec, RUN, 2)
    of_three = write_shards([tmp_path / "b"], spec, RUN, 3)
    result = merge(spec_path, "--run", RUN, of_two[0], of_three[1], of_three[2])
    refused(tmp_path, result, "different counts", "0-of-2", "1-of-3")


def test_unfinished_shard_without_summary_is_refused(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    (shard_dirs[2] / "summary.json").unlink()
    result = merge(spec_path, "--run", RUN, *shard_dirs)
    refused(tmp_path, result, str(shard_dirs[2]), "has not finished")


def test_a_directory_that_is_no_shard_is_refused(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    result = merge(spec_path, "--run", RUN, shard_dirs[0].parent, *shard_dirs[1:])
    refused(tmp_path, result, "holds no outputs.jsonl", "shard-I-of-N")


def test_an_unsharded_run_is_refused(tmp_path: Path, spec_path: Path, single: Path) -> None:
    refused(tmp_path, merge(spec_path, "--run", RUN, single), "names no shard")


def test_tasks_missing_from_every_shard_are_reported(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    # A shard stopped before its tables caught up: a task of it has no row yet.
    table = shard_dirs[0] / "outputs.jsonl"
    lines = table.read_text().splitlines()
    lost = json.loads(lines[-1])["task"]
    table.write_text("\n".join(lines[:-1]) + "\n")
    refused(tmp_path, merge(spec_path, "--run", RUN, *shard_dirs), "1 task(s) in no shard", lost)
    result = merge(spec_path, "--run", RUN, "--partial", *shard_dirs)
    assert result.exit_code == 0, result.output
    summary = json.loads((merged_dir(tmp_path) / "summary.json").read_text())
    assert summary["missing_tasks"] == [lost]
    assert summary["shards"]["missing"] == []


def test_the_merged_directory_is_not_a_shard(tmp_path: Path, spec_path: Path) -> None:
    spec = load(spec_path)
    [only] = write_shards([tmp_path / "x"], spec, RUN, 1)
    target = tmp_path / "results" / "prices" / RUN
    os.makedirs(target.parent)
    shutil.copytree(only, target)
    result = merge(spec_path, "--run", RUN, target)
    assert result.exit_code == 2
    assert "merged results directory itself" in result.output


def test_a_shard_that_stopped_early_is_merged_with_a_warning(
    tmp_path: Path, spec_path: Path, shard_dirs: list[Path]
) -> None:
    summary_path = shard_dirs[1] / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary_path.write_text(json.dumps({**summary, "interrupted": True, "pending": 4}))
    result = merge(spec_path, "--run", RUN, *shard_dirs)
    assert result.exit_code == 0, result.output
    assert "shard 1-of-3 interrupted with 4 task(s) pending" in result.output
    merged = json.loads((merged_dir(tmp_path) / "summary.json").read_text())
    assert merged["interrupted"] is True
