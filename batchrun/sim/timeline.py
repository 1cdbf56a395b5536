"""`GET /v1/runs/{id}/timeline`: the blocks and thoughts a run has gone through so far."""

from __future__ import annotations

from typing import Any

from batchrun.sim.lifecycle import Run
from batchrun.sim.runbook import ORGANIZATION_ID, ApiError, RunBook, iso


class RunTimeline(RunBook):
    def timeline(self, run_id: str) -> list[dict[str, Any]]:
        run = self.find(run_id)
        if run is None:
            raise ApiError(404, {"detail": f"Run not found {run_id}"})
        if run.run_type not in ("task_v2", "workflow_run"):
            raise ApiError(400, {"detail": f"Timeline not available for run type {run.run_type}"})
        state = self.state(run)
        phases = run.phases
        workflow_run_id = run.wr_id or run.run_id
        entries = []
        for step in range(state.step_count):
            offset = phases.started + (step / max(1, phases.steps)) * (
                (state.finished or phases.finish) - phases.started
            )
            stamp = iso(run.wall(offset))
            last = step == state.step_count - 1
            status = state.status if last and state.is_final else "completed"
            if run.run_type == "task_v2" and step % 2 == 0:
                entries.append(_thought_entry(run, workflow_run_id, step, stamp))
                continue
            entries.append(_block_entry(run, workflow_run_id, step, stamp, status))
        entries.reverse()  # newest first, like Skyvern's timeline
        return entries


def _block_entry(run: Run, workflow_run_id: str, step: int, stamp: str | None, status: str) -> dict:
    block_id = f"wrb_{run.num}{step:03d}"
    return {
        "type": "block",
        "attempt": 1,  # every entry names the workflow attempt it belongs to
        "block": {
            "workflow_run_block_id": block_id,
            "block_workflow_run_id": None,
            "workflow_run_id": workflow_run_id,
            "organization_id": ORGANIZATION_ID,
            "description": f"Step {step + 1}",
            "parent_workflow_run_block_id": None,
            "block_type": _block_type(run, step),
            "label": f"block_{step + 1}",
            "status": status,
            "output": None,
            "continue_on_failure": False,
            "failure_reason": None,
            "error_codes": [],
            "engine": "skyvern-1.0",
            "task_id": f"tsk_{run.num}{step:03d}",
            "url": run.request.get("url"),
            "actions": [],
            "created_at": stamp,
            "modified_at": stamp,
            "duration": None,
            "loop_values": None,
            "downloaded_file_count": None,
            "script_run": None,
        },
        "thought": None,
        "children": [],
        "created_at": stamp,
        "modified_at": stamp,
    }


def _block_type(run: Run, step: int) -> str:
    if run.run_type != "task_v2":
        return "task"
    # skyvern-2.0 opens the url in a goto_url block, then runs the blocks it planned.
    return "goto_url" if step <= 1 else "extraction"


def _thought_entry(run: Run, workflow_run_id: str, step: int, stamp: str | None) -> dict:
    return {
        "type": "thought",
        "attempt": 1,  # every entry names the workflow attempt it belongs to
        "block": None,
        "thought": {
            "thought_id": f"ot_{run.num}{step:03d}",
            "task_id": run.run_id,
            "organization_id": ORGANIZATION_ID,
            "workflow_run_id": workflow_run_id,
            "workflow_run_block_id": None,
            "workflow_id": f"w_{run.num}",
            "workflow_permanent_id": f"wpid_{run.num}",
            "user_input": run.request.get("prompt"),
            "observation": f"Observed the page at step {step + 1}",
            "thought": "Deciding the next action",
            "answer": None,
            "thought_type": "plan",
            "thought_scenario": None,
            "output": None,
            "created_at": stamp,
            "modified_at": stamp,
        },
        "children": [],
        "created_at": stamp,
        "modified_at": stamp,
    }
