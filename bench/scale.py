"""batchrun alone at scale: instant runs, so what is measured is batchrun's own overhead."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from batchrun.sim import start_simulator
from bench.child import ChildUsage, run_measured
from bench.compare import batchrun_apply_argv
from bench.workload import instant_scenario, write_compact_rows, write_spec

# Runs end at once, so a short poll interval leaves nothing to wait for but batchrun itself.
POLL_S = (0.02, 0.1)


@dataclass(frozen=True)
class ScalePoint:
    tasks: int
    concurrency: int
    apply: ChildUsage
    resume: ChildUsage  # `apply` again on the finished batch: deciding that all is done
    plan: ChildUsage  # `plan` of the same tasks as a CSV spec, empty state
    validate: ChildUsage  # `validate` of that CSV spec
    report: ChildUsage  # `report` of the finished batch
    report_bytes: int
    succeeded: int
    requests_total: int
    runs_created: int
    state_bytes: int
    results_bytes: int

    @property
    def tasks_per_s(self) -> float:
        return self.tasks / self.apply.wall_s

    @property
    def cpu_ms_per_task(self) -> float:
        return 1000 * self.apply.cpu_s / self.tasks

    @property
    def system_ms_per_task(self) -> float:
        return 1000 * self.apply.system_s / self.tasks

    @property
    def state_bytes_per_task(self) -> float:
        return self.state_bytes / self.tasks


def run_scale_point(
    count: int, *, concurrency: int, seed: int, workdir: Path, timeout_s: float
) -> ScalePoint:
    workdir = workdir / f"scale-{count}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    rows = workdir / "tasks.jsonl"
    write_compact_rows(count, rows)
    spec = workdir / "bench.yaml"
    results = workdir / "results"
    write_spec(
        spec,
        rows,
        concurrency=concurrency,
        results=results,
        poll_interval_s=POLL_S[0],
        poll_max_s=POLL_S[1],
        retry_initial_s=0.1,
        retry_max_s=1.0,
    )
    state = workdir / "state.db"
    argv = batchrun_apply_argv(spec, "", state)
    with start_simulator(instant_scenario(seed), seed=seed) as sim:
        argv[argv.index("--api-url") + 1] = sim.base_url
        env = {"SKYVERN_API_KEY": sim.api_key}
        first = run_measured(argv, env=env, cwd=workdir, timeout_s=timeout_s)
        resume = run_measured(argv, env=env, cwd=workdir, timeout_s=timeout_s)
        stats = sim.stats()
    if first.exit_code != 0 or resume.exit_code != 0:
        raise RuntimeError(
            f"batchrun at {count} tasks exited {first.exit_code}/{resume.exit_code}: "
            f"{first.stderr_tail or resume.stderr_tail}"
        )
    state_bytes = _size(workdir, "state.db*")
    report = run_measured(
        ["-m", "batchrun", "report", str(spec), "--state", str(state)],
        env={},
        cwd=workdir,
        timeout_s=timeout_s,
    )
    csv_spec = _csv_variant(spec, rows, workdir)
    plan = run_measured(
        ["-m", "batchrun", "plan", str(csv_spec), "--state", str(workdir / "empty.db"), "--json"],
        env={},
        cwd=workdir,
        timeout_s=timeout_s,
    )
    validate = run_measured(
        ["-m", "batchrun", "validate", str(csv_spec)], env={}, cwd=workdir, timeout_s=timeout_s
    )
    for name, usage in (("report", report), ("plan", plan), ("validate", validate)):
        if usage.exit_code != 0:
            raise RuntimeError(f"batchrun {name} at {count} tasks: {usage.stderr_tail}")
    [run_dir] = (results / "bench").iterdir()
    succeeded = sum(1 for _ in (run_dir / "tasks").iterdir())
    point = ScalePoint(
        tasks=count,
        concurrency=concurrency,
        apply=first,
        resume=resume,
        plan=plan,
        validate=validate,
        report=report,
        report_bytes=_size(run_dir, "report.html"),
        succeeded=succeeded,
        requests_total=stats["requests_total"],
        runs_created=stats["runs_created"],
        state_bytes=state_bytes,
        results_bytes=_size(results, "**/*"),
    )
    # The task directories stay until the bench ends: on a file system without a journal
    # (this machine's), ext4 skips inode numbers freed in the last minutes when it allocates
    # new ones, so deleting 100,000 directories here would bill the next point's file
    # creation (several times the system time) for this one's clean-up.
    return point


def _csv_variant(spec: Path, rows: Path, workdir: Path) -> Path:
    """The same spec reading the same rows from a CSV file (`plan` and `validate` are timed
    on it: a CSV is what a 100,000-row batch usually comes from)."""
    csv_rows = workdir / "tasks.csv"
    with rows.open(encoding="utf-8") as lines, csv_rows.open("w", encoding="utf-8") as out:
        out.write("id,n\n")
        for line in lines:
            row = json.loads(line)
            out.write(f"{row['id']},{row['n']}\n")
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    document["tasks"][0]["for_each"] = {"csv": str(csv_rows)}
    csv_spec = workdir / "bench-csv.yaml"
    csv_spec.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return csv_spec


def _size(root: Path, pattern: str) -> int:
    return sum(path.stat().st_size for path in root.glob(pattern) if path.is_file())
