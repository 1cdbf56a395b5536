"""Which shard runs a task, where a shard's index comes from, and its part of the caps."""

from __future__ import annotations

import math
import uuid
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchrun.errors import ExitCode, UsageError
from batchrun.shards import (
    INDEX_VARIABLES,
    Shard,
    default_state_name,
    resolve_shard,
    results_subdir,
    shard_of,
    share,
    unsharded_index_hint,
)


def sku_ids(total: int) -> list[str]:
    return [f"price-sku-{k:05d}" for k in range(1, total + 1)]


def url_ids(total: int) -> list[str]:
    return [f"shop.example.com-p-{k * 37}-detail" for k in range(total)]


def uuid_ids(total: int) -> list[str]:
    return [str(uuid.uuid5(uuid.NAMESPACE_DNS, f"seller-{k}")) for k in range(total)]


ID_STYLES = [sku_ids, url_ids, uuid_ids]


def test_shard_of_is_pinned_across_versions() -> None:
    # A resumed shard finds its tasks in its own state file: if a release changed these
    # values, tasks would move and be paid for twice. Never update them to make this pass.
    assert [shard_of(f"price-sku-{k:05d}", 8) for k in range(1, 9)] == PINNED_SKUS_OF_8
    assert shard_of("é-ünïcode-任务", 5) == PINNED_UNICODE_OF_5
    assert shard_of("anything", 1) == 0


PINNED_SKUS_OF_8 = [6, 4, 3, 2, 3, 6, 6, 3]
PINNED_UNICODE_OF_5 = 3


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=50, unique=True))
def test_every_task_is_in_exactly_one_shard(ids: list[str]) -> None:
    for count in (1, 2, 3, 7):
        owners = [[i for i in range(count) if Shard(i, count).contains(t)] for t in ids]
        assert all(len(found) == 1 for found in owners)


@given(
    st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=40, unique=True),
    st.lists(st.text(min_size=1, max_size=20), max_size=40, unique=True),
)
def test_adding_or_removing_tasks_never_moves_another(kept: list[str], changed: list[str]) -> None:
    # The split of the same tasks, computed with other tasks added (or, read the other way,
    # removed): every kept task stays in its shard.
    for count in (2, 5, 16):
        alone = {t: i for i in range(count) for t in kept if Shard(i, count).contains(t)}
        grown = [*changed, *kept]
        together = {t: i for i in range(count) for t in grown if Shard(i, count).contains(t)}
        assert all(together[t] == alone[t] for t in kept)


@pytest.mark.parametrize("make_ids", ID_STYLES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("count", [2, 3, 4, 5, 8, 10, 16])
def test_balance_at_1000_tasks_is_within_binomial_spread(make_ids, count: int) -> None:
    # With the id as the only input, a shard's count is binomial around T/N: the documented
    # promise is four standard deviations (shards.py says why 10 % needs ~1,600 per shard).
    ids = make_ids(1000)
    counts = Counter(shard_of(t, count) for t in ids)
    expected = len(ids) / count
    spread = 4 * math.sqrt(expected * (1 - 1 / count))
    assert set(counts) == set(range(count))
    assert all(abs(counts[i] - expected) <= spread for i in range(count)), counts


@pytest.mark.parametrize("make_ids", ID_STYLES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("count", [2, 4, 8, 12])
def test_each_shard_within_ten_percent_at_1600_tasks_a_shard(make_ids, count: int) -> None:
    ids = make_ids(20_000)  # >= 1,600 tasks per shard for every count here
    counts = Counter(shard_of(t, count) for t in ids)
    expected = len(ids) / count
    assert all(abs(counts[i] - expected) <= 0.10 * expected for i in range(count)), counts


def test_one_more_shard_moves_only_its_share_of_tasks() -> None:
    ids = sku_ids(10_000)
    for count in (2, 4, 8):
        moved = sum(shard_of(t, count) != shard_of(t, count + 1) for t in ids)
        # Consistent hashing: about 1/(N+1) move (all of them, to the new shard); `% N`
        # would move about N/(N+1).
        assert moved <= 1.3 * len(ids) / (count + 1)
        assert all(
            shard_of(t, count + 1) == count
            for t in ids
            if shard_of(t, count) != shard_of(t, count + 1)
        )


def test_shard_label_and_default_paths() -> None:
    shard = Shard(2, 8)
    assert shard.label == "2-of-8"
    assert default_state_name(shard) == "state-2-of-8.db"
    assert results_subdir(shard) == "shard-2-of-8"
    assert shard.as_dict() == {"index": 2, "count": 8}
    with pytest.raises(ValueError):
        Shard(8, 8)


# --- resolve_shard -------------------------------------------------------------------------


def test_no_sharding_asked_is_none() -> None:
    assert resolve_shard(None, None, {}) is None


def test_explicit_flags() -> None:
    assert resolve_shard(4, 3, {}) == Shard(3, 4)
    assert resolve_shard(1, 0, {}) == Shard(0, 1)


def test_explicit_index_wins_over_the_environment() -> None:
    assert resolve_shard(4, 1, {"JOB_COMPLETION_INDEX": "3"}) == Shard(1, 4)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"JOB_COMPLETION_INDEX": "5"}, 5),
        ({"CLOUD_RUN_TASK_INDEX": "2", "CLOUD_RUN_TASK_COUNT": "8"}, 2),
        ({"AWS_BATCH_JOB_ARRAY_INDEX": "7"}, 7),
        ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0"}, 4),
        ({"SLURM_ARRAY_TASK_ID": "8", "SLURM_ARRAY_TASK_MIN": "1"}, 7),
        ({"SLURM_ARRAY_TASK_ID": "3"}, 3),  # MIN unset: 0
        (
            {
                "SLURM_ARRAY_TASK_ID": "10",
                "SLURM_ARRAY_TASK_MIN": "2",
                "SLURM_ARRAY_TASK_STEP": "2",
            },
            4,
        ),
    ],
)
def test_index_from_each_launcher(environ: dict[str, str], expected: int) -> None:
    assert resolve_shard(8, None, environ) == Shard(expected, 8)


def test_first_index_variable_set_wins() -> None:
    environ = {"SLURM_ARRAY_TASK_ID": "1", "JOB_COMPLETION_INDEX": "2"}
    assert resolve_shard(4, None, environ) == Shard(2, 4)
    assert INDEX_VARIABLES[0] == "JOB_COMPLETION_INDEX"


def test_cloud_run_count_turns_sharding_on() -> None:
    environ = {"CLOUD_RUN_TASK_INDEX": "3", "CLOUD_RUN_TASK_COUNT": "4"}
    assert resolve_shard(None, None, environ) == Shard(3, 4)


def test_a_cloud_run_job_of_one_task_is_unsharded() -> None:
    assert (
        resolve_shard(None, None, {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "1"})
        is None
    )


@pytest.mark.parametrize(
    "name", ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX", "SLURM_ARRAY_TASK_ID"]
)
def test_an_index_alone_never_shards(name: str) -> None:
    # An array over several specs is legitimate: run the whole spec, with a warning to show.
    assert resolve_shard(None, None, {name: "1"}) is None
    hint = unsharded_index_hint({name: "1"})
    assert hint is not None and name in hint and "--shards" in hint
    assert unsharded_index_hint({}) is None


def usage_error(shards: int | None, index: int | None, environ: dict[str, str]) -> str:
    with pytest.raises(UsageError) as caught:
        resolve_shard(shards, index, environ)
    assert caught.value.exit_code == ExitCode.USAGE == 2
    return str(caught.value)


def test_no_index_anywhere_names_the_variables() -> None:
    message = usage_error(4, None, {})
    assert "--shard-index" in message
    assert all(name in message for name in INDEX_VARIABLES)


def test_index_without_count() -> None:
    assert "--shards" in usage_error(None, 2, {})


@pytest.mark.parametrize(
    ("shards", "index", "environ", "named"),
    [
        (4, 4, {}, "--shard-index"),
        (4, -1, {}, "--shard-index"),
        (0, 0, {}, "--shards"),
        (-2, None, {"JOB_COMPLETION_INDEX": "0"}, "--shards"),
        (4, None, {"JOB_COMPLETION_INDEX": "4"}, "JOB_COMPLETION_INDEX"),
        (4, None, {"JOB_COMPLETION_INDEX": "two"}, "JOB_COMPLETION_INDEX"),
        (4, None, {"AWS_BATCH_JOB_ARRAY_INDEX": "1.5"}, "AWS_BATCH_JOB_ARRAY_INDEX"),
        (
            None,
            None,
            {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "x"},
            "CLOUD_RUN_TASK_COUNT",
        ),
        (
            None,
            None,
            {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "0"},
            "CLOUD_RUN_TASK_COUNT",
        ),
        (
            None,
            None,
            {"CLOUD_RUN_TASK_INDEX": "5", "CLOUD_RUN_TASK_COUNT": "5"},
            "CLOUD_RUN_TASK_INDEX",
        ),
        (
            4,
            None,
            {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "x"},
            "SLURM_ARRAY_TASK_MIN",
        ),
        (
            4,
            None,
            {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_STEP": "2"},
            "SLURM_ARRAY_TASK_STEP",
        ),
    ],
)
def test_bad_values_are_usage_errors(
    shards: int | None, index: int | None, environ: dict[str, str], named: str
) -> None:
    assert named in usage_error(shards, index, environ)


@pytest.mark.parametrize(
    "environ",
    [
        {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "8"},
        {"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "1"},
        {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "8"},
    ],
)
def test_shards_disagreeing_with_the_launcher_is_refused(environ: dict[str, str]) -> None:
    # Otherwise shards 4..7 would never run (or the last indexes alone would fail).
    assert "make them equal" in usage_error(4, None, environ)


# --- share ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "count"), [(10, 3), (5, 8), (100, 4), (7, 7), (1, 2)])
def test_budget_parts_add_up_to_the_budget(total: int, count: int) -> None:
    parts = [share(total, Shard(i, count), minimum=0) for i in range(count)]
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # the first total % N shards get one more


def test_concurrency_never_below_one() -> None:
    assert [share(3, Shard(i, 5), minimum=1) for i in range(5)] == [1, 1, 1, 1, 1]
    assert [share(10, Shard(i, 4), minimum=1) for i in range(4)] == [3, 3, 2, 2]


def test_no_cap_stays_no_cap() -> None:
    assert share(None, Shard(0, 4), minimum=1) is None
