"""The work queue: re-attachments first, due retries next, new tasks last; per-host limits."""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from batchrun.scheduler.work_queue import Job, WorkQueue


@dataclass(frozen=True)
class FakeTask:
    id: str
    host: str | None = None


def _job(task_id: str, host: str | None = None, *, open_attempt: object = None) -> Job:
    return Job(FakeTask(task_id, host), open_attempt)  # type: ignore[arg-type]


def test_reattachments_come_before_new_tasks_and_the_queue_ends_when_empty() -> None:
    async def scenario() -> list[str]:
        queue = WorkQueue()
        queue.add(_job("new-1"))
        queue.add(_job("reattach", open_attempt=object()))
        queue.add(_job("new-2"))
        order = []
        while (job := await queue.take()) is not None:
            order.append(job.task.id)
            queue.done(job)
        return order

    assert anyio.run(scenario) == ["reattach", "new-1", "new-2"]


def test_a_retry_waits_for_its_time_without_holding_up_other_work() -> None:
    async def scenario() -> list[str]:
        queue = WorkQueue()
        queue.add_later(_job("retry"), 0.2)
        queue.add(_job("new"))
        order = []
        while (job := await queue.take()) is not None:
            order.append(job.task.id)
            queue.done(job)
        return order

    assert anyio.run(scenario) == ["new", "retry"]


def test_per_host_limit_skips_a_saturated_host_instead_of_blocking() -> None:
    async def scenario() -> list[str]:
        queue = WorkQueue(per_host=1)
        for job in (_job("a1", "a"), _job("a2", "a"), _job("b1", "b")):
            queue.add(job)
        first = await queue.take()
        second = await queue.take()
        assert first is not None and second is not None
        taken = [first.task.id, second.task.id]
        queue.done(first)
        third = await queue.take()
        assert third is not None
        return [*taken, third.task.id]

    assert anyio.run(scenario) == ["a1", "b1", "a2"]
