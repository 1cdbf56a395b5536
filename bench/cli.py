"""`python -m bench`: run the comparison cases and the scale points, write BENCHMARKS.md."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.cases import AccountSettings, TailSettings, run_account_case, run_tail_cases
from bench.compare import CaseResult, CaseSetup, run_case
from bench.report import BenchSettings, command_line, render
from bench.scale import ScalePoint, run_scale_point
from bench.workload import Faults, lognormal_durations, make_tasks

READING = Path(__file__).with_name("reading.md")
CASES = (
    ("realistic", "every run succeeds at once.", Faults()),
    (
        "10% fail once",
        "a tenth of the tasks (chosen by the seed) fail on their first run and succeed on "
        "the second; both clients retry them.",
        Faults(fail_once_share=0.1),
    ),
    (
        "5% 429s",
        "5% of all API requests are answered 429 (half with `Retry-After: 1`), the rest as "
        "in the realistic case.",
        Faults(rate_limit=0.05),
    ),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tasks", type=int, default=200, help="tasks per comparison case")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.05,
        help="multiplies every simulated duration and both clients' poll clocks",
    )
    parser.add_argument("--median", type=float, default=25.0, help="median run duration (s)")
    parser.add_argument("--sigma", type=float, default=0.8, help="log-normal sigma (the tail)")
    parser.add_argument("--cap", type=float, default=600.0, help="longest run duration (s)")
    parser.add_argument(
        "--scale-max",
        type=int,
        default=None,
        help="largest scale point (1,000 then x10 up to this; 0 skips the scale table)",
    )
    parser.add_argument(
        "--scale-points",
        type=lambda text: [int(part) for part in text.split(",") if part],
        default=None,
        help="explicit scale points, comma-separated; overrides --scale-max "
        f"(default: {','.join(map(str, DEFAULT_SCALE_POINTS))})",
    )
    parser.add_argument("--scale-concurrency", type=int, default=100)
    parser.add_argument("--skip-compare", action="store_true", help="only the scale table")
    parser.add_argument(
        "--tail-tasks",
        type=int,
        default=TailSettings.tasks,
        help="tasks of the heavy-tail cases (first instance, history, --listen; 0 skips)",
    )
    parser.add_argument(
        "--account-tasks",
        type=int,
        default=AccountSettings.tasks,
        help="tasks of the account-limit case (0 skips)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="per client run (s)")
    return parser.parse_args()


# The points: 20,000 tasks for the per-task figures, 100,000 for the big batch (about
# 10 minutes of the run).
DEFAULT_SCALE_POINTS = (1000, 20_000, 100_000)


def chosen_scale_points(points: list[int] | None, maximum: int | None) -> list[int]:
    if points:
        return points
    if maximum is not None:
        return scale_points(maximum)
    return list(DEFAULT_SCALE_POINTS)


def scale_points(maximum: int) -> list[int]:
    points, count = [], 1000
    while count <= maximum:
        points.append(count)
        count *= 10
    return points


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    cases: list[CaseResult] = []
    scale: list[ScalePoint] = []

    def write_report() -> None:
        """After every case and point, so that a late failure keeps what was measured."""
        settings = BenchSettings(
            command=command_line(),
            tasks=args.tasks,
            concurrency=args.concurrency,
            time_scale=args.time_scale,
            median_s=args.median,
            sigma=args.sigma,
            cap_s=args.cap,
            seed=args.seed,
            scale_concurrency=args.scale_concurrency,
            total_wall_s=time.monotonic() - started,
            load_before=load_before,
            load_after=os.getloadavg()[0],
        )
        reading = READING.read_text(encoding="utf-8") if READING.exists() else ""
        args.out.write_text(render(settings, cases, scale) + reading, encoding="utf-8")

    with tempfile.TemporaryDirectory(prefix="batchrun-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_compare and args.tasks:
            durations = lognormal_durations(
                args.tasks, median_s=args.median, sigma=args.sigma, seed=args.seed, cap_s=args.cap
            )
            for name, description, faults in CASES:
                setup = CaseSetup(
                    tasks=make_tasks(
                        durations, fail_once_share=faults.fail_once_share, seed=args.seed
                    ),
                    concurrency=args.concurrency,
                    time_scale=args.time_scale,
                    seed=args.seed,
                    workdir=workdir,
                    timeout_s=args.timeout,
                )
                print(f"bench: {name} ({args.tasks} tasks) ...", flush=True)
                cases.append(run_case(name, description, faults, setup))
                write_report()
        if not args.skip_compare:
            if args.tail_tasks:
                tail = TailSettings(tasks=args.tail_tasks)
                cases += run_tail_cases(tail, args.seed, workdir, args.timeout)
                write_report()
            if args.account_tasks:
                account = AccountSettings(tasks=args.account_tasks)
                cases.append(run_account_case(account, args.seed, workdir, args.timeout))
                write_report()
        for count in chosen_scale_points(args.scale_points, args.scale_max):
            print(f"bench: scale, {count:,} instant tasks ...", flush=True)
            scale.append(
                run_scale_point(
                    count,
                    concurrency=args.scale_concurrency,
                    seed=args.seed,
                    workdir=workdir,
                    timeout_s=args.timeout,
                )
            )
            write_report()
    write_report()
    print(f"bench: wrote {args.out}")
