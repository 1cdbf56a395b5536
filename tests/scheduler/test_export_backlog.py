"""Ended tasks wait for their export in a bounded backlog: when runs end faster than their
folders are written, the workers that ended them wait instead of piling runs up in memory."""

from __future__ import annotations

from typing import Any

import anyio

from batchrun.scheduler.exporting import BACKLOG_LIMIT, ResultsExporter


class SlowExporter(ResultsExporter):
    """The real queue, hand-over and workers; an export that takes a moment and records the
    backlog it finds."""

    def __init__(self) -> None:
        none: Any = None
        super().__init__(none, none, none, none, none, none, "label")
        self.done: list[str] = []
        self.largest = 0

    async def export(self, task_id: str, run: Any) -> None:
        self.largest = max(self.largest, self._backlog)
        await anyio.sleep(0.001)
        self.done.append(task_id)


def test_workers_wait_while_the_export_backlog_is_full() -> None:
    producers, per_producer = 50, 40  # 2,000 tasks ending as fast as the loop allows
    exporter = SlowExporter()
    exporter.schedule("from-an-earlier-run", None)  # the start-up list is not bounded

    async def produce(index: int) -> None:
        for number in range(per_producer):
            exporter.schedule(f"t{index}-{number}", None)
            await exporter.wait_for_room()

    async def scenario() -> None:
        async with anyio.create_task_group() as exporters:
            exporter.start(exporters, 2)
            async with anyio.create_task_group() as workers:
                for index in range(producers):
                    workers.start_soon(produce, index)
            exporter.close()

    anyio.run(scenario)
    assert len(exporter.done) == producers * per_producer + 1
    assert len(set(exporter.done)) == len(exporter.done)
    # Each producer may add one past the bound before it waits.
    assert BACKLOG_LIMIT <= exporter.largest <= BACKLOG_LIMIT + producers
