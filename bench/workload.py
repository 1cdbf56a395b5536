"""The work both clients are given: tasks, their simulated durations, and the scenario.

Durations are drawn once per seed from a log-normal distribution (a median in the tens of
seconds and a heavy tail, like real browser-automation runs) and scripted per task into the
simulator's scenario, one rule per task URL, so that both clients face identical runs.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from batchrun.scheduler.history import schedule_wall_s

SITE = "https://shop.example"
# Templates over a row's `n`: compact rows keep 100,000 tasks under for_each's 10 MB cap.
URL_TEMPLATE = SITE + "/item/{n}"
PROMPT_TEMPLATE = "Find the price of item {n}."
ENGINE = "skyvern-2.0"  # both clients send it explicitly (the SDK wrapper defaults to 1.0)
FAILURE_REASON = "Page did not load in time"


@dataclass(frozen=True)
class BenchTask:
    id: str
    url: str
    prompt: str
    duration_s: float  # simulated seconds, before the simulator's time_scale
    fails_once: bool

    @property
    def runs_needed(self) -> int:
        return 2 if self.fails_once else 1


@dataclass(frozen=True)
class Faults:
    """The injected trouble of one benchmark case."""

    fail_once_share: float = 0.0
    rate_limit: float = 0.0

    def scenario_faults(self) -> dict[str, Any]:
        # The simulator's defaults for the rest: half the 429s carry `Retry-After: 1`.
        return {"rate_limit": self.rate_limit} if self.rate_limit else {}


def lognormal_durations(
    count: int, *, median_s: float, sigma: float, seed: int, cap_s: float
) -> list[float]:
    """`count` durations with the given median; `sigma` sets the tail, `cap_s` cuts it."""
    rng = random.Random(seed)
    mu = math.log(median_s)
    return [round(min(cap_s, rng.lognormvariate(mu, sigma)), 3) for _ in range(count)]


def make_tasks(durations: list[float], *, fail_once_share: float, seed: int) -> list[BenchTask]:
    rng = random.Random(seed + 1)
    failing = set(rng.sample(range(len(durations)), round(fail_once_share * len(durations))))
    return [
        BenchTask(
            id=f"item-{i:05d}",
            url=URL_TEMPLATE.format(n=i),
            prompt=PROMPT_TEMPLATE.format(n=i),
            duration_s=duration,
            fails_once=i in failing,
        )
        for i, duration in enumerate(durations)
    ]


def ideal_wall_s(tasks: list[BenchTask], concurrency: int, time_scale: float) -> float:
    """sum(durations) / concurrency, every run counted (a failed first run too), in real s."""
    total = sum(task.duration_s * task.runs_needed for task in tasks)
    longest = max(task.duration_s * task.runs_needed for task in tasks)
    return max(total / concurrency, longest) * time_scale


def ideal_sum_s(tasks: list[BenchTask], concurrency: int, time_scale: float) -> float:
    """sum(durations) / concurrency alone, in real s: what a perfect order would reach."""
    return sum(task.duration_s * task.runs_needed for task in tasks) / concurrency * time_scale


def zero_overhead_wall_s(tasks: list[BenchTask], concurrency: int, time_scale: float) -> float:
    """The tasks started in file order, each as soon as a slot frees, noticed at once and
    with nothing else to do: what any client keeping that order can reach at best."""
    durations = (task.duration_s * task.runs_needed * time_scale for task in tasks)
    return schedule_wall_s(durations, concurrency)


def timed_scenario(tasks: list[BenchTask], faults: Faults, seed: int) -> dict[str, Any]:
    """One rule per task: its duration, and `failed` on its first run if it fails once."""
    rules = [
        {
            "match": {"url": task.url},
            "duration": task.duration_s,
            "outcomes": ["failed", "completed"] if task.fails_once else ["completed"],
            "failure_reason": FAILURE_REASON,
        }
        for task in tasks
    ]
    return {"seed": seed, "rules": rules, "faults": faults.scenario_faults()}


def instant_scenario(seed: int) -> dict[str, Any]:
    return {"seed": seed, "rules": [{"match": {}, "duration": 0}]}


def write_task_rows(tasks: list[BenchTask], path: Path) -> None:
    """The JSONL both clients read: batchrun through `for_each`, the SDK loop directly.

    Rows carry `n`, from which the spec's templates rebuild the url and the prompt; the SDK
    loop reads them as they are.
    """
    with path.open("w", encoding="utf-8") as out:
        for task in tasks:
            n = int(task.id.rsplit("-", 1)[1])
            row = {"id": task.id, "n": n, "url": task.url, "prompt": task.prompt}
            out.write(json.dumps(row) + "\n")


def write_compact_rows(count: int, path: Path) -> None:
    """Rows with only `id` and `n` (about 30 bytes each), for the scale table."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(json.dumps({"id": f"item-{n:05d}", "n": n}) + "\n")


def write_spec(
    path: Path,
    rows: Path,
    *,
    concurrency: int,
    results: Path,
    poll_interval_s: float,
    poll_max_s: float,
    retry_initial_s: float,
    retry_max_s: float,
    timeout_s: float | None = None,
) -> None:
    """A batchrun spec with one task per row of `rows` (`for_each` over the JSONL)."""
    document = {
        "name": "bench",
        "concurrency": concurrency,
        "poll": {"interval": f"{poll_interval_s:g}s", "max_interval": f"{poll_max_s:g}s"},
        "retry": {
            "attempts": 3,
            "on": ["failed"],
            "backoff": {"initial": f"{retry_initial_s:g}s", "max": f"{retry_max_s:g}s"},
        },
        "results": str(results),
        "defaults": {"engine": ENGINE},
        **({"timeout": f"{timeout_s:g}s"} if timeout_s is not None else {}),
        "tasks": [
            {
                "id": "{id}",
                "for_each": {"jsonl": str(rows)},
                "url": URL_TEMPLATE,
                "prompt": PROMPT_TEMPLATE,
            }
        ],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
