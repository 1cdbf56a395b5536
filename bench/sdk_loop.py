"""The "naive peer": the script a user writes around the official Skyvern SDK instead.

An asyncio semaphore, one `run_task(..., wait_for_completion=True)` per task and a simple
retry loop, writing one output line per task. The SDK's high-level `Skyvern` class needs the
full server install, so its `run_task` wait loop is reproduced here over the Fern client it
wraps, with the SDK's own constants (docs/skyvern-api.md §15): submit once, `get_run` at once and
then every `DEFAULT_AGENT_HEARTBEAT_INTERVAL` seconds (scaled like the simulator's clock),
all inside `asyncio.timeout`, any error abandoning the wait. Fern's defaults stay: no HTTP
retries. Run as `python -m bench.sdk_loop TASKS.jsonl OUT.jsonl ...`, key in SKYVERN_API_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

from skyvern.client import AsyncSkyvern
from skyvern.library.constants import DEFAULT_AGENT_HEARTBEAT_INTERVAL, DEFAULT_AGENT_TIMEOUT
from skyvern.schemas.run_enums import RunStatus

ATTEMPTS = 3  # the same as batchrun's default retry.attempts


async def run_task_and_wait(
    client: AsyncSkyvern, row: dict[str, Any], engine: str, time_scale: float
) -> Any:
    """`Skyvern.run_task(..., wait_for_completion=True)`, its clock scaled by `time_scale`."""
    run = await client.run_task(prompt=row["prompt"], url=row["url"], engine=engine)
    async with asyncio.timeout(DEFAULT_AGENT_TIMEOUT * time_scale):
        while True:
            run = await client.get_run(run.run_id)
            if RunStatus(run.status).is_final():
                return run
            await asyncio.sleep(DEFAULT_AGENT_HEARTBEAT_INTERVAL * time_scale)


async def one_task(
    client: AsyncSkyvern,
    row: dict[str, Any],
    semaphore: asyncio.Semaphore,
    engine: str,
    time_scale: float,
) -> dict[str, Any]:
    async with semaphore:
        error = ""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                run = await run_task_and_wait(client, row, engine, time_scale)
            except Exception as exc:  # what a short script does: log it, try the task again
                error = f"{type(exc).__name__}: {exc}"
                continue
            if run.status == "completed":
                return {"task": row["id"], "status": "succeeded", "output": run.output,
                        "run_id": run.run_id, "attempts": attempt}  # fmt: skip
            error = run.failure_reason or str(run.status)
        return {"task": row["id"], "status": "failed", "error": error[:300], "attempts": ATTEMPTS}


async def run_all(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in args.tasks.read_text().splitlines() if line]
    client = AsyncSkyvern(base_url=args.base_url, api_key=os.environ["SKYVERN_API_KEY"])
    semaphore = asyncio.Semaphore(args.concurrency)
    with args.out.open("w", encoding="utf-8") as out:
        for done in asyncio.as_completed(
            [one_task(client, row, semaphore, args.engine, args.time_scale) for row in rows]
        ):
            out.write(json.dumps(await done) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tasks", type=Path, help="JSONL: id, url, prompt per line")
    parser.add_argument("out", type=Path, help="where to write one JSON line per task")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--engine", default="skyvern-2.0")
    parser.add_argument("--time-scale", type=float, default=1.0)
    asyncio.run(run_all(parser.parse_args()))


if __name__ == "__main__":
    main()
