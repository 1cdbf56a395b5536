"""The simulator's in-memory Skyvern: creating and cancelling runs, and its counters.

Every method is synchronous and runs on the server's event loop thread, so no locks are
needed. Answers are built by the parts it inherits: `responses` (run bodies), `artifacts`,
`listing` and `timeline`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urldefrag

from batchrun.sim.files import LinkSigner
from batchrun.sim.ids import next_run_number
from batchrun.sim.lifecycle import Run
from batchrun.sim.listing import RunListing
from batchrun.sim.requests import (
    ENGINE_RUN_TYPE,
    RunEngine,
    TaskRunRequest,
    WorkflowRunRequest,
)
from batchrun.sim.responses import v2_title
from batchrun.sim.runbook import ApiError, iso, naive_utc_now
from batchrun.sim.scenario import Scenario
from batchrun.sim.slots import SlotSchedule
from batchrun.sim.store import RunStore
from batchrun.sim.timeline import RunTimeline

__all__ = ["ApiError", "SimulatedSkyvern"]


def _wr_num(run: Run) -> int:
    """The number in a skyvern-2.0 run's second id (its workflow run), which is taken too."""
    return int(run.wr_id.removeprefix("wr_")) if run.wr_id else 0


def task_key_for_task(url: str | None, prompt: str) -> str:
    return f"{urldefrag(url or '').url} | {prompt}"


def task_key_for_workflow(workflow_id: str, parameters: dict[str, Any] | None) -> str:
    canonical = json.dumps(parameters or {}, sort_keys=True, separators=(",", ":"), default=str)
    return f"{workflow_id} | {canonical}"


class SimulatedSkyvern(RunListing, RunTimeline):
    """Creates and cancels runs, plans their starts under the account limit, keeps them in
    the store when there is one, and counts what it served for `/_sim/stats`."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        api_key: str,
        seed: int,
        time_scale: float,
        signer: LinkSigner,
        clock: Callable[[], float] = time.monotonic,
        store: RunStore | None = None,
    ) -> None:
        self.api_key = api_key
        self.base_seed = seed
        self.time_scale = time_scale
        self.signer = signer
        self.clock = clock
        self.store = store
        self.on_run_created: Callable[[Run], None] = lambda run: None
        self.on_run_canceled: Callable[[Run], None] = lambda run: None
        self.on_run_rescheduled: Callable[[Run], None] = lambda run: None
        self.scenario = scenario
        self._forget_runs()
        self.set_scenario(scenario)
        if store is not None:
            self._load(store)

    # ----- state -------------------------------------------------------------------------

    def set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if scenario.seed is not None else self.base_seed
        if scenario.account_concurrency != self.slots.limit:
            self.slots.limit = scenario.account_concurrency
            # Runs already in flight count against the new limit; queued ones are re-planned.
            now = self.clock()
            in_flight = [run for run in self.runs if not run.state_at(now).is_done]
            self._rescheduled(self.slots.reschedule(in_flight, now))

    def reset(self) -> None:
        """Forgets every run, the stored ones too; ids still never repeat."""
        self._forget_runs()
        if self.store is not None:
            self.store.clear()

    def _forget_runs(self) -> None:
        self.runs: list[Run] = []  # creation order; the list endpoint reads it backwards
        self.by_id: dict[str, Run] = {}
        self.by_num: dict[int, Run] = {}
        self.creates_by_task: dict[str, int] = {}
        self.requests_total = 0
        self.requests_by_route: dict[str, int] = {}
        self.faults_injected: dict[str, int] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.slots = SlotSchedule(self.scenario.account_concurrency)
        self._num_floor = 0

    def _load(self, store: RunStore) -> None:
        now = self.clock()
        for run in store.load(now_mono=now, now_wall=naive_utc_now()):
            self._index(run)
            self.creates_by_task[run.task_key] = self.creates_by_task.get(run.task_key, 0) + 1
            self._num_floor = max(self._num_floor, run.num, _wr_num(run))
        # Runs still queued are re-planned under this start's limit (or lack of one).
        in_flight = [run for run in self.runs if not run.state_at(now).is_done]
        self._rescheduled(self.slots.reschedule(in_flight, now))

    def _index(self, run: Run) -> None:
        self.runs.append(run)
        self.by_id[run.run_id] = run
        if run.wr_id:
            self.by_id[run.wr_id] = run
        self.by_num[run.num] = run

    def _save(self, runs: list[Run]) -> None:
        if self.store is not None:
            self.store.save(runs)

    def count_request(self, endpoint: str) -> None:
        self.requests_total += 1
        self.requests_by_route[endpoint] = self.requests_by_route.get(endpoint, 0) + 1

    def count_fault(self, kind: str) -> None:
        self.faults_injected[kind] = self.faults_injected.get(kind, 0) + 1

    def _take_num(self) -> int:
        return next_run_number(self._num_floor)

    # ----- creation ----------------------------------------------------------------------

    def create_task(self, request: TaskRunRequest, api_key: str) -> Run:
        engine = RunEngine.SKYVERN_V2 if request.publish_workflow else request.engine
        run_type = ENGINE_RUN_TYPE[engine]
        num = self._take_num()
        is_v2 = engine == RunEngine.SKYVERN_V2
        run_id = f"tsk_v2_{num}" if is_v2 else f"tsk_{num}"
        wr_id = f"wr_{self._take_num()}" if is_v2 else None
        fields = {
            "title": request.title or "",
            "url": request.url or "",
            "prompt": request.prompt,
        }
        key = task_key_for_task(request.url, request.prompt)
        # skyvern-2.0 ignores the title: only the url (and ids) are searchable.
        searchable = [request.url or "", run_id]
        if is_v2:
            searchable += [wr_id or "", f"wpid_{num}", v2_title(key)]
        else:
            searchable.append(request.title or "")
        return self._register(
            num=num,
            run_id=run_id,
            run_type=str(run_type),
            engine=str(engine),
            request=request.model_dump(mode="json", exclude_defaults=True),
            key=key,
            fields=fields,
            api_key=api_key,
            wr_id=wr_id,
            search_text="\n".join(searchable).lower(),
        )

    def create_workflow(self, request: WorkflowRunRequest, api_key: str) -> Run:
        num = self._take_num()
        run_id = f"wr_{num}"
        parameters = request.parameters or {}
        fields = {
            "title": request.title or "",
            "url": str(parameters.get("url", "")),
            "prompt": str(parameters.get("prompt", "")),
            "workflow_id": request.workflow_id,
        }
        searchable = [run_id, request.workflow_id, request.webhook_url or ""]
        for name, value in parameters.items():
            searchable += [str(name), value if isinstance(value, str) else json.dumps(value)]
        if request.extra_http_headers:
            searchable.append(json.dumps(request.extra_http_headers))
        tags = frozenset(
            f"{k.strip()}:{v.strip()}"
            for k, v in (request.run_metadata or {}).items()
            if k.strip() and v.strip() and not k.startswith("skyvern.")
        )
        return self._register(
            num=num,
            run_id=run_id,
            run_type="workflow_run",
            engine=None,
            request=request.model_dump(mode="json", exclude_defaults=True),
            key=task_key_for_workflow(request.workflow_id, request.parameters),
            fields=fields,
            api_key=api_key,
            search_text="\n".join(searchable).lower(),
            tags=tags,
        )

    def _register(
        self,
        *,
        num: int,
        run_id: str,
        run_type: str,
        engine: str | None,
        request: dict[str, Any],
        key: str,
        fields: dict[str, str],
        api_key: str,
        search_text: str,
        wr_id: str | None = None,
        tags: frozenset[str] = frozenset(),
    ) -> Run:
        index = self.creates_by_task.get(key, 0)
        self.creates_by_task[key] = index + 1
        run = Run(
            num=num,
            run_id=run_id,
            run_type=run_type,
            engine=engine,
            request=request,
            task_key=key,
            creation_index=index,
            rule=self.scenario.rule_for(fields),
            created_mono=self.clock(),
            created_wall=naive_utc_now(),
            time_scale=self.time_scale,
            api_key=api_key,
            seed=self.seed,
            wr_id=wr_id,
            search_text=search_text,
            tags=tags,
        )
        self.slots.admit(run)
        self._index(run)
        self._save([run])
        self.on_run_created(run)
        return run

    # ----- cancel ------------------------------------------------------------------------

    def cancel(self, run_id: str, *, reschedule: bool = True) -> None:
        """Cancels one run; `reschedule=False` leaves re-planning queued runs to the caller
        (`reschedule_slots` once after many cancels, not once per cancel)."""
        run = self.find(run_id)
        if run is None or (run.run_type == "task_v2" and run_id == run.wr_id):
            raise ApiError(404, {"detail": f"Run not found {run_id}"})
        run.cancels += 1
        state = self.state(run)
        if run.run_type in ("task_v2", "workflow_run"):
            # Final runs keep their status, without error (a pending retry is revoked).
            if not state.is_final or state.retry_pending:
                self._mark_canceled(run, reschedule)
            return
        if state.status == "timed_out":
            raise ApiError(500, {"error": "Unexpected error: TaskAlreadyTimeout"})
        if state.status == "canceled":
            raise ApiError(
                400,
                {
                    "detail": f"Invalid task status transition to canceled for {run_id} "
                    "because task is already canceled"
                },
            )
        if state.is_final:
            raise ApiError(
                400,
                {
                    "detail": f"Invalid task status transition from {state.status} to "
                    f"canceled for {run_id}"
                },
            )
        self._mark_canceled(run, reschedule)

    def _mark_canceled(self, run: Run, reschedule: bool) -> None:
        run.cancel_offset = max(0.0, self.clock() - run.created_mono)
        self._save([run])
        self.on_run_canceled(run)
        if reschedule:
            self.reschedule_slots()

    def reschedule_slots(self) -> None:
        """After cancels: runs still queued for a slot may start earlier now."""
        if self.slots.limit is not None:
            self._rescheduled(self.slots.reschedule(None, self.clock()))

    def _rescheduled(self, moved: list[Run]) -> None:
        self._save(moved)
        for run in moved:
            self.on_run_rescheduled(run)

    # ----- admin -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "runs_created": len(self.runs),
            "creates_by_task": dict(self.creates_by_task),
            "runs": {
                run.run_id: {
                    "task_key": run.task_key,
                    "status": run.state_at(now).status,
                    "polls": run.polls,
                    "cancels": run.cancels,
                    "created_at": iso(run.created_wall),
                    "run_type": run.run_type,
                    "webhooks_sent": run.webhooks_sent,
                }
                for run in self.runs
            },
            "requests_total": self.requests_total,
            "requests_by_route": dict(self.requests_by_route),
            "faults_injected": dict(self.faults_injected),
            "webhook_deliveries": list(self.webhook_deliveries),
        }
