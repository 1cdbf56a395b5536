"""Deterministic shards: which tasks one process of an array job runs.

`batchrun apply SPEC --shards N --shard-index I` runs only the tasks `shard_of(id, N) == I`.
The shard of a task depends on its id and N alone (sha256 of the UTF-8 id, never Python's
salted `hash()`), so every process of the array computes the same split with no
coordination, and adding or removing other tasks never moves a task to another shard.
Changing N does move tasks; a jump consistent hash keeps that to about 1/N of them when N
grows by one (a moved task starts afresh in its new shard's state file).

Balance is statistical, as with any assignment that looks at nothing but the id: a shard's
count is binomial around T/N with a standard deviation of about sqrt(T/N). Each shard lands
within 10 % of T/N once it holds about 1,600 tasks or more (10 % is then four standard
deviations); with fewer, expect ±3 sqrt(T/N) (e.g. 1,000 tasks over 8 shards: 125 ± 30).
Strictly equal shares would need the whole task list, and then adding a task could move
others, which would make a resumed shard pay again for work another shard already did.

Where the index comes from (`resolve_shard`): `--shard-index`, else the first variable of
`INDEX_VARIABLES` that is set. Only `--shards` or `CLOUD_RUN_TASK_COUNT` (above 1) turn
sharding on: an index variable alone (a SLURM array over different specs, say) leaves the
batch unsharded, and `unsharded_index_hint` gives the warning to print then.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchrun.errors import UsageError
from batchrun.spec import BatchSpec

# The array index each launcher gives its processes, in the order they are consulted.
INDEX_VARIABLES = (
    "JOB_COMPLETION_INDEX",  # Kubernetes Indexed Job
    "CLOUD_RUN_TASK_INDEX",  # Cloud Run job
    "AWS_BATCH_JOB_ARRAY_INDEX",  # AWS Batch array job
    "SLURM_ARRAY_TASK_ID",  # SLURM job array (minus SLURM_ARRAY_TASK_MIN)
)
COUNT_VARIABLE = "CLOUD_RUN_TASK_COUNT"
# Not a source of N (a SLURM array over several specs is common), only a cross-check.
SLURM_COUNT_VARIABLE = "SLURM_ARRAY_TASK_COUNT"


@dataclass(frozen=True)
class Shard:
    """Shard `index` (0-based) of `count`."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"no shard {self.index} of {self.count}")

    def contains(self, task_id: str) -> bool:
        return shard_of(task_id, self.count) == self.index

    @property
    def label(self) -> str:
        return f"{self.index}-of-{self.count}"

    def as_dict(self) -> dict[str, int]:
        """The `shard` entry of a shard's summary.json, which `batchrun merge` checks."""
        return {"index": self.index, "count": self.count}


def shard_of(task_id: str, count: int) -> int:
    """The shard (0..count-1) that runs `task_id`."""
    if count < 1:
        raise ValueError(f"a shard count must be at least 1, not {count}")
    key = int.from_bytes(hashlib.sha256(task_id.encode("utf-8")).digest()[:8], "big")
    return _jump_hash(key, count)


def _jump_hash(key: int, buckets: int) -> int:
    # Lamping & Veach, "A Fast, Minimal Memory, Consistent Hash Algorithm" (2014): uniform
    # like `key % buckets`, but going from N to N+1 shards moves only ~1/(N+1) of the tasks.
    bucket, jump = -1, 0
    while jump < buckets:
        bucket = jump
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        jump = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def resolve_shard(
    shards: int | None, shard_index: int | None, environ: Mapping[str, str]
) -> Shard | None:
    """The shard this process runs, or None when no sharding was asked for.

    `shards` and `shard_index` are `--shards` and `--shard-index`; `environ` is consulted
    for whichever is missing. Every inconsistency is a UsageError (exit 2): a process that
    guessed would run another shard's tasks, or none, and pay for it.
    """
    count, count_source = shards, "--shards"
    if count is None:
        from_env = _env_int(environ, COUNT_VARIABLE)
        # A Cloud Run job of one task is an ordinary, unsharded run.
        if from_env is not None and from_env != 1:
            count, count_source = from_env, COUNT_VARIABLE
    if count is None:
        if shard_index is not None:
            raise UsageError("--shard-index needs --shards N (the number of shards)")
        return None
    if count < 1:
        raise UsageError(f"{count_source} must be at least 1, not {count}")

    if shard_index is not None:
        index, index_source = shard_index, "--shard-index"
    else:
        index, index_source = _index_from_env(environ)
        _check_launcher_count(count, count_source, environ, index_source)
    if not 0 <= index < count:
        raise UsageError(
            f"{index_source} is {index}: shard indexes of {count} shards run from 0 to "
            f"{count - 1} (does the launcher's parallelism match {count_source}?)"
        )
    return Shard(index, count)


def unsharded_index_hint(environ: Mapping[str, str]) -> str | None:
    """A warning for a process that runs the whole batch although a launcher gave it an
    array index (no `--shards`): fine for an array over different specs, costly otherwise."""
    for name in INDEX_VARIABLES:
        if environ.get(name, "").strip():
            return (
                f"{name} is set but --shards is not: this process runs every task of the "
                "spec (pass --shards N to run only its shard)"
            )
    return None


def share(total: int | None, shard: Shard, *, minimum: int) -> int | None:
    """This shard's part of a whole-batch cap (`concurrency`, `budget.max_runs`, ...).

    floor(total / N), plus one for the first `total % N` shards, so the parts add up to
    `total` exactly; then raised to `minimum`. Concurrency uses minimum=1 (a shard must run
    something, so with more shards than `concurrency` the sum exceeds it); budgets use
    minimum=0, so the shards together never spend more than the budget (a shard whose part
    is 0 starts nothing and ends budget-exhausted). None (no cap) stays None.
    """
    if total is None:
        return None
    part = total // shard.count + (1 if shard.index < total % shard.count else 0)
    return max(part, minimum)


def default_state_name(shard: Shard) -> str:
    """The state file's name for a shard: shards never share a state file, so that each can
    run (and be resumed) on its own machine, and two on one machine never lock each other."""
    return f"state-{shard.label}.db"


def results_subdir(shard: Shard) -> str:
    """Where under the results root a shard writes: `<results>/shard-2-of-8/<spec>/<run>/`,
    leaving `<results>/<spec>/<run>/` to the merged results of `batchrun merge`."""
    return f"shard-{shard.label}"


def spec_digest(spec_path: Path) -> str:
    """sha256 (hex) of the spec file's bytes: `merge` refuses shards of different specs."""
    return hashlib.sha256(Path(spec_path).read_bytes()).hexdigest()


def shard_summary_fields(shard: Shard | None, spec_path: Path) -> dict[str, Any]:
    """What a shard's summary.json adds for `batchrun merge` to check (spec digest, shard);
    `first_submitted_at` / `last_finished_at` (ISO UTC) are the apply loop's to add."""
    return {
        "spec_digest": spec_digest(spec_path),
        "shard": shard.as_dict() if shard is not None else None,
    }


def _index_from_env(environ: Mapping[str, str]) -> tuple[int, str]:
    for name in INDEX_VARIABLES:
        value = _env_int(environ, name)
        if value is None:
            continue
        if name == "SLURM_ARRAY_TASK_ID":
            # `--array=1-8` numbers tasks from 1; shards are numbered from 0.
            minimum = _env_int(environ, "SLURM_ARRAY_TASK_MIN") or 0
            step = _env_int(environ, "SLURM_ARRAY_TASK_STEP") or 1
            if (value - minimum) % step:
                raise UsageError(
                    f"SLURM_ARRAY_TASK_ID {value} is off the array's "
                    f"SLURM_ARRAY_TASK_STEP {step} from SLURM_ARRAY_TASK_MIN {minimum}"
                )
            return (value - minimum) // step, name
        return value, name
    raise UsageError(
        "--shards needs a shard index: pass --shard-index I, or run under a launcher that "
        f"sets one of {', '.join(INDEX_VARIABLES)}"
    )


def _check_launcher_count(
    count: int, count_source: str, environ: Mapping[str, str], index_source: str
) -> None:
    # A mismatch would leave shards unrun (or fail only on the last indexes): catch it in
    # every process, before any run is paid for.
    for name, launcher_index in (
        (COUNT_VARIABLE, "CLOUD_RUN_TASK_INDEX"),
        (SLURM_COUNT_VARIABLE, "SLURM_ARRAY_TASK_ID"),
    ):
        if index_source != launcher_index or name == count_source:
            continue
        launched = _env_int(environ, name)
        if launched is not None and launched != count:
            raise UsageError(
                f"{count_source} is {count} but the launcher started {launched} tasks "
                f"({name}): make them equal"
            )


def _env_int(environ: Mapping[str, str], name: str) -> int | None:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        return int(raw.strip())
    except ValueError:
        raise UsageError(f"{name} must be an integer, not {raw!r}") from None


def sharded_spec(spec: BatchSpec, shard: Shard) -> BatchSpec:
    """The spec as one shard runs it: its own tasks (positions kept, so merged tables keep
    spec order), and its share of the whole batch's concurrency and budget."""
    return dataclasses.replace(
        spec,
        tasks=[task for task in spec.tasks if shard.contains(task.id)],
        concurrency=share(spec.concurrency, shard, minimum=1) or 1,
        budget_max_runs=share(spec.budget_max_runs, shard, minimum=0),
        budget_max_steps=share(spec.budget_max_steps, shard, minimum=0),
    )
