"""What a loaded spec is to the rest of batchrun: a `BatchSpec` holding `TaskSpec`s.

Everything here is resolved: durations in seconds, sizes in bytes, engines as wire values,
`for_each` expanded, `${VAR}` filled, defaults merged, extraction schemas loaded.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from batchrun.spec.errors import SourceLocation, SpecIssue
from batchrun.spec.inputs import SpecSource
from batchrun.spec.interpolate import redact


@dataclass(frozen=True, slots=True)
class ExportSettings:
    screenshots: bool
    recording: bool
    artifacts: tuple[str, ...]
    max_file_size: int  # bytes


@dataclass(frozen=True, slots=True)
class PollPolicy:
    interval: float  # seconds
    max_interval: float


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float  # seconds
    factor: float
    max: float
    jitter: float  # fraction of the delay, e.g. 0.2 = ±20 %

    def delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry `retry_number` (1 = the first retry)."""
        if retry_number < 1:
            raise ValueError("retry_number starts at 1")
        try:
            delay = min(self.max, self.initial * self.factor ** (retry_number - 1))
        except OverflowError:
            delay = self.max
        if self.jitter:
            spread = (rng or random).uniform(-self.jitter, self.jitter)
            delay = min(self.max, delay * (1 + spread))
        return max(0.0, delay)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int  # total, the first included
    on: frozenset[str]  # terminal statuses (and "invalid_output") that are retried
    backoff: Backoff


@dataclass(frozen=True, slots=True)
class AttemptRequest:
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    id: str
    position: int  # 0-based, in expanded spec order
    kind: Literal["task", "workflow"]
    retry: RetryPolicy
    timeout: float | None  # seconds per attempt
    output_schema: dict[str, Any] | None  # attempt 1's data_extraction_schema, loaded
    content_hash: str
    engine: str | None  # wire value for tasks, None for workflows
    host: str | None  # lower-cased host of `url`, for per-host limits
    location: SourceLocation  # the task's entry in the spec file
    # Requests for attempts 1..N (escalations applied; later attempts reuse the last one),
    # as compact JSON (`pack_requests`): a third of the memory of the dicts, which a batch of
    # 100,000 tasks holds for its whole run, and each use gets its own fresh copy.
    packed_requests: str = field(repr=False)
    # Environment values used by this task, by variable name: never stored in clear.
    secrets: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def requests(self) -> tuple[AttemptRequest, ...]:
        return tuple(AttemptRequest(*parts) for parts in json.loads(self.packed_requests))

    def request_for_attempt(self, attempt: int, *, redacted: bool = False) -> AttemptRequest:
        """The request for `attempt` (1-based), the caller's own copy. `redacted` puts
        `${VAR}` back in place of every value that came from the environment: use it for
        anything written to disk."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        requests = json.loads(self.packed_requests)
        body, headers, query = requests[min(attempt, len(requests)) - 1]
        if not redacted or not self.secrets:
            return AttemptRequest(body=body, headers=headers, query=query)
        return AttemptRequest(
            body=redact(body, self.secrets),
            headers=redact(headers, self.secrets),
            query=redact(query, self.secrets),
        )


def pack_requests(requests: Sequence[AttemptRequest]) -> str:
    """What `TaskSpec.packed_requests` holds: the requests as one compact JSON text."""
    return json.dumps(
        [[request.body, request.headers, request.query] for request in requests],
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


@dataclass(frozen=True, slots=True)
class HaltPolicy:
    """When `apply` stops starting runs. A task counts once it has ended (retries done)."""

    max_failures: int | None  # failed tasks that halt the batch
    max_failure_rate: float | None  # 0..1, share of the ended tasks that failed
    min_ended: int  # the rate applies only once this many tasks ended
    on: frozenset[str]  # end statuses (and "invalid_output") that count as failed
    mode: Literal["soon", "now"]  # soon: let runs in flight finish; now: cancel them


@dataclass(frozen=True, slots=True)
class BatchSpec:
    name: str
    path: Path
    api_base_url: str
    api_key_env: str
    concurrency: int
    per_host_concurrency: int | None
    budget_max_steps: int | None
    budget_max_runs: int | None
    results_dir: Path  # as written; relative paths are relative to the working directory
    export: ExportSettings
    poll: PollPolicy
    tasks: list[TaskSpec]
    halt: HaltPolicy | None = None
    diff_ignore: tuple[str, ...] = ()  # output paths (`$.a.b`, `$.items[*].c`) a diff skips
    # Valid but likely not what the author meant (`validate` prints them; never fatal here).
    warnings: list[SpecIssue] = field(default_factory=list)
    # What the load read, and its fingerprint (None for a spec not loaded from a file).
    source: SpecSource | None = None
