"""Run bodies in the shapes of `skyvern/schemas/runs.py` (wheel 1.0.56).

Timestamps are naive UTC like the real server's; the `run_request` echo leaves out what
Skyvern does not store, and the POST's answer differs from later reads as a real server's does.
"""

from __future__ import annotations

import json
import random
import zlib
from typing import Any

from batchrun.sim.artifacts import RunArtifacts
from batchrun.sim.lifecycle import Run, RunState
from batchrun.sim.outputs import value_for_schema
from batchrun.sim.requests import TaskRunRequest, WorkflowRunRequest
from batchrun.sim.runbook import APP_URL, iso, maybe_wall

_TASK_DEFAULTS = TaskRunRequest(prompt="").model_dump(mode="json")
_WORKFLOW_DEFAULTS = WorkflowRunRequest(workflow_id="").model_dump(mode="json")
_ECHOED_TASK_FIELDS = (
    "url",
    "webhook_url",
    "totp_identifier",
    "totp_url",
    "proxy_location",
    "data_extraction_schema",
    "error_code_mapping",
)
_V1_ONLY_ECHO = ("max_screenshot_scrolls",)


def v2_title(task_key: str) -> str:
    """skyvern-2.0 lists the title its LLM gave the generated workflow, not the request's.

    Picked by the task, not the run id, so the same batch reads the same on every start.
    """
    words = ("Extract", "Collect", "Review", "Fetch", "Gather")
    return f"{words[zlib.crc32(task_key.encode()) % len(words)]} Website Information"


class RunResponses(RunArtifacts):
    def run_response(self, run: Run, *, at_creation: bool = False) -> dict[str, Any]:
        state = self.state(run)
        if at_creation and not state.canceled:
            # The POST answers before any work starts, even for an instant scripted run.
            state = run.phases.natural_state(run, 0.0)
            if state.is_final:
                state = RunState("created", 0, run.phases, None, last_change=0.0)
        body = (
            self._workflow_response(run, state)
            if run.is_workflow
            else self._task_response(run, state)
        )
        if at_creation:
            _as_creation_answer(run, body)
        return body

    def _common(self, run: Run, state: RunState) -> dict[str, Any]:
        finished = state.finished
        completed = state.status == "completed"
        terminal = finished is not None
        app_run = run.wr_id or (run.run_id if run.is_workflow else None)
        return {
            "run_id": run.run_id,
            "run_type": run.run_type,
            "status": state.status,
            "output": self._output(run, state),
            "downloaded_files": self._downloaded_files(run) if completed else [],
            "recording_url": self._link(run, 0) if state.started_offset is not None else None,
            "recording_archived": False,
            "screenshot_urls": [self._link(run, 1)] if terminal else None,
            "failure_reason": self._failure_reason(run, state),
            "created_at": iso(run.created_wall),
            "modified_at": iso(run.wall(state.modified_offset)),
            "queued_at": maybe_wall(run, state.queued_offset),
            "started_at": maybe_wall(run, state.started_offset),
            "finished_at": maybe_wall(run, finished),
            "app_url": f"{APP_URL}/runs/{app_run}" if app_run else f"{APP_URL}/tasks/{run.run_id}",
            "browser_session_id": run.request.get("browser_session_id"),
            "browser_profile_id": run.request.get("browser_profile_id"),
            "max_screenshot_scrolls": run.request.get("max_screenshot_scrolls"),
            "script_run": None,
            "errors": self._errors(run, state),
            "step_count": state.step_count,
        }

    def _task_response(self, run: Run, state: RunState) -> dict[str, Any]:
        body = self._common(run, state)
        body["run_request"] = self.task_echo(run, state)
        return body

    def task_echo(self, run: Run, state: RunState) -> dict[str, Any]:
        """The partial `run_request` echo Skyvern rebuilds from the stored task."""
        echo = dict(_TASK_DEFAULTS)
        echo["engine"] = run.engine
        echo["prompt"] = run.request.get("prompt", "")
        for name in _ECHOED_TASK_FIELDS:
            echo[name] = run.request.get(name, _TASK_DEFAULTS[name])
        if run.run_type != "task_v2":
            for name in _V1_ONLY_ECHO:
                echo[name] = run.request.get(name)
            # Null until the task starts, then the org default, as a real server answers.
            started = state.started_offset is not None
            echo["max_steps"] = run.request.get("max_steps", 10 if started else None)
        return echo

    def _workflow_response(self, run: Run, state: RunState) -> dict[str, Any]:
        body = self._common(run, state)
        echo = dict(_WORKFLOW_DEFAULTS)
        echo.update(run.request)
        echo["title"] = self.workflow_title(run)
        body.update(
            {
                "attempt": state.attempt,
                "retry_pending": state.retry_pending,
                "next_attempt_at": maybe_wall(run, state.next_attempt),
                "attempts": self._attempts(run, state),
                "run_with": run.request.get("run_with") or "agent",
                "ai_fallback": run.request.get("ai_fallback"),
                "script_id": None,
                "browser_seed_source": "fresh",
                "browser_settings_receipt": None,
                "run_request": echo,
            }
        )
        return body

    def _attempts(self, run: Run, state: RunState) -> list[dict[str, Any]]:
        phases = run.phases
        if state.started_offset is None:
            return []
        first_done = state.attempt == 2 or state.retry_pending
        attempts = [
            {
                "attempt_number": 1,
                "status": "failed" if first_done else state.status,
                "failure_reason": self._rule_failure(run) if first_done else None,
                "error_codes": [],
                "started_at": maybe_wall(run, phases.started),
                "finished_at": maybe_wall(run, phases.finish if first_done else state.finished),
                "retry_decision": "retry" if first_done else None,
                "decision_reason": "retry policy" if first_done else None,
                "next_attempt_at": maybe_wall(run, phases.final) if first_done else None,
                "webhook_sent_at": None,
            }
        ]
        if state.attempt == 2:
            attempts.append(
                {
                    "attempt_number": 2,
                    "status": state.status,
                    "failure_reason": self._failure_reason(run, state),
                    "error_codes": [],
                    "started_at": maybe_wall(run, phases.final),
                    "finished_at": maybe_wall(run, state.finished),
                    "retry_decision": None,
                    "decision_reason": None,
                    "next_attempt_at": None,
                    "webhook_sent_at": None,
                }
            )
        return attempts

    def workflow_title(self, run: Run) -> str:
        if run.run_type == "task_v2":
            started = self.state(run).started_offset is not None
            return v2_title(run.task_key) if started else "New Workflow"
        workflow_id = run.request.get("workflow_id", "")
        return f"Workflow {workflow_id}"

    def _rng(self, run: Run, purpose: str) -> random.Random:
        return random.Random(f"{run.seed}|{run.task_key}|{purpose}")

    def _output(self, run: Run, state: RunState) -> Any:
        rule = run.rule
        if state.status != "completed":
            return {"error_code": rule.error_code} if rule.error_code and state.is_final else None
        if rule.has_output:
            return rule.output
        if run.is_workflow:
            value = {"summary": f"Workflow {run.request.get('workflow_id')} finished"}
            return {"block_1_output": value, "extracted_information": [value]}
        schema = run.request.get("data_extraction_schema")
        v1_like = run.run_type not in ("task_v2",)
        if v1_like and run.request.get("url") and not self.scenario.v1_extracts_with_url:
            return None  # skyvern-1.0 given a url navigates but does not extract
        if schema is not None:
            if isinstance(schema, str):
                try:
                    schema = json.loads(schema)
                except ValueError:
                    return {"answer": schema}
            return value_for_schema(schema, self._rng(run, "output"))
        return {"summary": f"Completed: {run.request.get('prompt', '')[:80]}"}

    def _rule_failure(self, run: Run) -> str:
        return run.rule.failure_reason or "Simulated failure"

    def _failure_reason(self, run: Run, state: RunState) -> str | None:
        if state.status in ("failed", "terminated"):
            return self._rule_failure(run)
        if state.status == "timed_out":
            return run.rule.failure_reason or "Task timed out"
        return None

    def _errors(self, run: Run, state: RunState) -> list[dict[str, Any]]:
        if run.rule.error_code and state.is_final and state.status != "canceled":
            return [
                {
                    "error_code": run.rule.error_code,
                    "reasoning": "Scripted by the simulator scenario",
                    "confidence_float": 1.0,
                }
            ]
        return []


def _as_creation_answer(run: Run, body: dict[str, Any]) -> None:
    """What a real server's POST answers, as seen on Skyvern 1.0.56."""
    # Nothing has run yet: no step count and no error list, not 0 and [].
    body["step_count"] = None
    body["errors"] = None
    if run.run_type == "task_v2" and body["status"] == "created":
        body["status"] = "queued"  # skyvern-2.0 answers once its workflow run is queued
    elif not run.is_workflow and run.run_type != "task_v2":
        # A task run's first app link names its run id under /runs/; reads give /tasks/.
        body["app_url"] = f"{APP_URL}/runs/{run.run_id}"
