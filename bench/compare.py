"""One benchmark case: the same tasks and scenario, run by batchrun and by the SDK loop.

Each client gets its own fresh simulator (same scenario, same seed) and runs alone, so the
simulator's counters are that client's requests and runs only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchrun.sim import start_simulator
from bench.child import ChildUsage, run_measured
from bench.workload import (
    BenchTask,
    Faults,
    ideal_wall_s,
    timed_scenario,
    write_spec,
    write_task_rows,
)

# batchrun's own defaults (spec `poll` and `retry.backoff`), scaled like the simulator's clock.
BATCHRUN_POLL_S = (5.0, 30.0)
BATCHRUN_BACKOFF_S = (5.0, 300.0)


@dataclass(frozen=True)
class ClientRun:
    client: str
    usage: ChildUsage
    tasks: int
    succeeded: int
    runs_created: int
    runs_paid_twice: int  # runs beyond what each task needed (a failed first run + one)
    requests_total: int
    requests_by_route: dict[str, int]
    faults_injected: dict[str, int]

    @property
    def requests_per_run(self) -> float:
        return self.requests_total / max(1, self.runs_created)


@dataclass(frozen=True)
class CaseResult:
    name: str
    description: str
    ideal_wall_s: float
    batchrun: ClientRun
    sdk_loop: ClientRun
    # The cases of `bench.cases`: the same tasks started in file order on `concurrency`
    # slots with no overhead at all, and each target with whether this run met it.
    zero_overhead_wall_s: float | None = None
    targets: tuple[tuple[str, bool], ...] = ()


@dataclass(frozen=True)
class CaseSetup:
    tasks: list[BenchTask]
    concurrency: int
    time_scale: float
    seed: int
    workdir: Path
    timeout_s: float


def run_case(name: str, description: str, faults: Faults, setup: CaseSetup) -> CaseResult:
    scenario = timed_scenario(setup.tasks, faults, setup.seed)
    rows = setup.workdir / f"{name}-tasks.jsonl"
    write_task_rows(setup.tasks, rows)
    sdk = _with_simulator(scenario, setup, "sdk loop", lambda sim: sdk_loop(sim, rows, setup))
    ours = _with_simulator(scenario, setup, "batchrun", lambda sim: run_batchrun(sim, rows, setup))
    return CaseResult(
        name=name,
        description=description,
        ideal_wall_s=ideal_wall_s(setup.tasks, setup.concurrency, setup.time_scale),
        batchrun=ours,
        sdk_loop=sdk,
    )


def _with_simulator(
    scenario: dict[str, Any],
    setup: CaseSetup,
    client: str,
    drive: Callable[[Any], tuple[ChildUsage, int]],
) -> ClientRun:
    with start_simulator(scenario, seed=setup.seed, time_scale=setup.time_scale) as sim:
        usage, succeeded = drive(sim)
        stats = sim.stats()
    return client_run(client, usage, succeeded, stats, setup)


def client_run(
    client: str,
    usage: ChildUsage,
    succeeded: int,
    stats: dict[str, Any],
    setup: CaseSetup,
    before: dict[str, Any] | None = None,
) -> ClientRun:
    """One client's figures from the simulator's counters (less `before`'s, when the
    simulator served an earlier run first)."""
    if usage.exit_code not in (0, 1):  # 1: some tasks failed, which the table shows
        raise RuntimeError(f"{client} exited {usage.exit_code}: {usage.stderr_tail}")
    if before is not None:
        stats = _less(stats, before)
    needed = {_task_key(task): task.runs_needed for task in setup.tasks}
    paid_twice = sum(
        max(0, count - needed.get(key, 0)) for key, count in stats["creates_by_task"].items()
    )
    return ClientRun(
        client=client,
        usage=usage,
        tasks=len(setup.tasks),
        succeeded=succeeded,
        runs_created=stats["runs_created"],
        runs_paid_twice=paid_twice,
        requests_total=stats["requests_total"],
        requests_by_route=stats["requests_by_route"],
        faults_injected=stats["faults_injected"],
    )


def _less(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {key: value - b.get(key, 0) for key, value in a.items() if value - b.get(key, 0)}

    return {
        **after,
        "runs_created": after["runs_created"] - before["runs_created"],
        "requests_total": after["requests_total"] - before["requests_total"],
        "creates_by_task": minus(after["creates_by_task"], before["creates_by_task"]),
        "requests_by_route": minus(after["requests_by_route"], before["requests_by_route"]),
        "faults_injected": minus(after["faults_injected"], before["faults_injected"]),
    }


def _task_key(task: BenchTask) -> str:
    return f"{task.url} | {task.prompt}"  # the simulator's "same task" key


def sdk_loop(sim: Any, rows: Path, setup: CaseSetup) -> tuple[ChildUsage, int]:
    workdir = _fresh_dir(setup.workdir / "sdk-loop")
    out = workdir / "outputs.jsonl"
    usage = run_measured(
        ["-m", "bench.sdk_loop", str(rows), str(out), "--base-url", sim.base_url,
         "--concurrency", str(setup.concurrency), "--time-scale", f"{setup.time_scale:g}"],
        env={"SKYVERN_API_KEY": sim.api_key, "PYTHONPATH": str(Path.cwd())},
        cwd=workdir,
        timeout_s=setup.timeout_s,
    )  # fmt: skip
    return usage, _count_succeeded(out)


def run_batchrun(
    sim: Any,
    rows: Path,
    setup: CaseSetup,
    *,
    args: Sequence[str] = (),
    fresh: bool = True,
    timeout: float | None = None,
) -> tuple[ChildUsage, int]:
    """`batchrun apply` on the tasks; `fresh=False` keeps the state of the last call (so the
    same spec's earlier instances are its history) and starts a new instance."""
    workdir = setup.workdir / "batchrun"
    if fresh:
        _fresh_dir(workdir)
    else:
        args = [*args, "--new"]
    scale = setup.time_scale
    spec = workdir / "bench.yaml"
    write_spec(
        spec,
        rows,
        concurrency=setup.concurrency,
        results=workdir / "results",
        poll_interval_s=BATCHRUN_POLL_S[0] * scale,
        poll_max_s=BATCHRUN_POLL_S[1] * scale,
        retry_initial_s=BATCHRUN_BACKOFF_S[0] * scale,
        retry_max_s=BATCHRUN_BACKOFF_S[1] * scale,
        timeout_s=timeout,
    )
    usage = run_measured(
        [*batchrun_apply_argv(spec, sim.base_url, workdir / "state.db"), *args],
        env={"SKYVERN_API_KEY": sim.api_key},
        cwd=workdir,
        timeout_s=setup.timeout_s,
    )
    run_dir = max((workdir / "results" / "bench").iterdir(), key=lambda p: p.stat().st_mtime)
    return usage, _count_succeeded(run_dir / "outputs.jsonl")


def batchrun_apply_argv(spec: Path, base_url: str, state: Path) -> list[str]:
    return ["-m", "batchrun", "apply", str(spec), "--api-url", base_url, "--state", str(state),
            "--log-format", "plain", "--quiet", "--no-report"]  # fmt: skip


def _count_succeeded(outputs: Path) -> int:
    if not outputs.exists():
        return 0
    rows = (json.loads(line) for line in outputs.read_text().splitlines() if line)
    return sum(1 for row in rows if row.get("status") == "succeeded")


def _fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
