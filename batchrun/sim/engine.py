"""The simulator's in-memory Skyvern: creating, reading, listing and cancelling runs.

Every method is synchronous and runs on the server's event loop thread, so no locks are
needed. Response bodies are built here in the shapes of `skyvern/schemas/runs.py` (wheel
1.0.56), with naive-UTC timestamps like the real server's.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urldefrag

from batchrun.sim.files import ArtifactBlob, LinkSigner
from batchrun.sim.lifecycle import Run, RunState
from batchrun.sim.outputs import value_for_schema
from batchrun.sim.requests import (
    ENGINE_RUN_TYPE,
    ListRunsQuery,
    RunEngine,
    TaskRunRequest,
    WorkflowRunRequest,
)
from batchrun.sim.scenario import Scenario

ORGANIZATION_ID = "o_400000000000000001"
APP_URL = "http://localhost:8080"  # a self-hosted server's SKYVERN_APP_URL default
SEARCH_MATCH_LIMIT = 1000
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
_DEFAULT_NAMES = {"recording": "recording.webm", "screenshot_final": "screenshot_final.png"}


class ApiError(Exception):
    """An error the API answers with `status` and `body` (JSON)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def iso(moment: datetime | None) -> str | None:
    """Skyvern's timestamps: naive UTC ISO-8601, no offset."""
    return None if moment is None else moment.isoformat()


def naive_utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def task_key_for_task(url: str | None, prompt: str) -> str:
    return f"{urldefrag(url or '').url} | {prompt}"


def task_key_for_workflow(workflow_id: str, parameters: dict[str, Any] | None) -> str:
    canonical = json.dumps(parameters or {}, sort_keys=True, separators=(",", ":"), default=str)
    return f"{workflow_id} | {canonical}"


class Engine:
    def __init__(
        self,
        scenario: Scenario,
        *,
        api_key: str,
        seed: int,
        time_scale: float,
        signer: LinkSigner,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key = api_key
        self.base_seed = seed
        self.time_scale = time_scale
        self.signer = signer
        self.clock = clock
        self.on_run_created: Callable[[Run], None] = lambda run: None
        self.on_run_canceled: Callable[[Run], None] = lambda run: None
        self.set_scenario(scenario)
        self.reset()

    # ----- state -------------------------------------------------------------------------

    def set_scenario(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if scenario.seed is not None else self.base_seed

    def reset(self) -> None:
        self.runs: list[Run] = []  # creation order; the list endpoint reads it backwards
        self.by_id: dict[str, Run] = {}
        self.by_num: dict[int, Run] = {}
        self.creates_by_task: dict[str, int] = {}
        self.requests_total = 0
        self.requests_by_route: dict[str, int] = {}
        self.faults_injected: dict[str, int] = {}
        self.webhook_deliveries: list[dict[str, Any]] = []
        # Ids look like Skyvern's 18-digit snowflakes; the seed keeps them reproducible.
        self._next_num = 400_000_000_000_000_000 + random.Random(self.seed).randrange(10**15)

    def count_request(self, endpoint: str) -> None:
        self.requests_total += 1
        self.requests_by_route[endpoint] = self.requests_by_route.get(endpoint, 0) + 1

    def count_fault(self, kind: str) -> None:
        self.faults_injected[kind] = self.faults_injected.get(kind, 0) + 1

    def _take_num(self) -> int:
        self._next_num += 1
        return self._next_num

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
            searchable += [wr_id or "", f"wpid_{num}", self._v2_title(num)]
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
            wr_id=wr_id,
            search_text=search_text,
            tags=tags,
        )
        self.runs.append(run)
        self.by_id[run_id] = run
        if wr_id:
            self.by_id[wr_id] = run
        self.by_num[num] = run
        self.on_run_created(run)
        return run

    # ----- reading -----------------------------------------------------------------------

    def find(self, run_id: str) -> Run | None:
        return self.by_id.get(run_id)

    def state(self, run: Run) -> RunState:
        return run.state_at(self.clock())

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
            "queued_at": _maybe_wall(run, state.queued_offset),
            "started_at": _maybe_wall(run, state.started_offset),
            "finished_at": _maybe_wall(run, finished),
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
            # Null until the task starts, then the org default (§18).
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
                "next_attempt_at": _maybe_wall(run, state.next_attempt),
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
                "started_at": _maybe_wall(run, phases.started),
                "finished_at": _maybe_wall(run, phases.finish if first_done else state.finished),
                "retry_decision": "retry" if first_done else None,
                "decision_reason": "retry policy" if first_done else None,
                "next_attempt_at": _maybe_wall(run, phases.final) if first_done else None,
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
                    "started_at": _maybe_wall(run, phases.final),
                    "finished_at": _maybe_wall(run, state.finished),
                    "retry_decision": None,
                    "decision_reason": None,
                    "next_attempt_at": None,
                    "webhook_sent_at": None,
                }
            )
        return attempts

    def _v2_title(self, num: int) -> str:
        # skyvern-2.0 lists the title its LLM gave the generated workflow, not the request's.
        words = ("Extract", "Collect", "Review", "Fetch", "Gather")
        return f"{words[num % len(words)]} Website Information"

    def workflow_title(self, run: Run) -> str:
        if run.run_type == "task_v2":
            started = self.state(run).started_offset is not None
            return self._v2_title(run.num) if started else "New Workflow"
        workflow_id = run.request.get("workflow_id", "")
        return f"Workflow {workflow_id}"

    def _rng(self, run: Run, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}|{run.task_key}|{purpose}")

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
            return None  # skyvern-1.0 given a url navigates but does not extract (§18)
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

    # ----- artifacts and files -----------------------------------------------------------

    def blobs(self, run: Run) -> list[ArtifactBlob]:
        """Recording, final screenshot, then one download per scripted file (index order)."""
        prefix = run.num * 100
        blobs = [
            ArtifactBlob(f"a_{prefix}", "recording"),
            ArtifactBlob(f"a_{prefix + 1}", "screenshot_final"),
        ]
        for index, spec in enumerate(run.rule.files[:98]):
            blobs.append(
                ArtifactBlob(
                    f"a_{prefix + 2 + index}",
                    "download",
                    filename=spec.name,
                    file=spec,
                    seed_key=f"{self.seed}|{run.run_id}|{index}|{spec.name}",
                )
            )
        return blobs

    def existing_blobs(self, run: Run) -> list[tuple[ArtifactBlob, float]]:
        """The artifacts that exist now, each with the offset it was created at."""
        state = self.state(run)
        blobs = self.blobs(run)
        found: list[tuple[ArtifactBlob, float]] = []
        if state.started_offset is not None:
            found.append((blobs[0], state.started_offset))
        if state.finished is not None:
            shot_at = state.finished
            if not run.is_workflow and run.run_type != "task_v2":
                # A task run's final screenshot is written after its status reads final.
                shot_at += self.scenario.final_screenshot_lag * self.time_scale
            if self.clock() - run.created_mono >= shot_at:
                found.append((blobs[1], shot_at))
            if state.status == "completed":
                found += [(blob, state.finished) for blob in blobs[2:]]
        return found

    def content_ready(self, run: Run, blob: ArtifactBlob) -> bool:
        """Whether the bytes of a listed artifact can be fetched yet (recordings lag)."""
        lag = self.scenario.recording_ready_lag
        if blob.artifact_type != "recording" or lag <= 0:
            return True
        finished = self.state(run).finished
        return finished is not None and self.clock() - run.created_mono >= (
            finished + lag * self.time_scale
        )

    def find_blob(self, artifact_id: str) -> tuple[Run, ArtifactBlob, float] | None:
        try:
            number = int(artifact_id.removeprefix("a_"))
        except ValueError:
            return None
        run = self.by_num.get(number // 100)
        if run is None or not artifact_id.startswith("a_"):
            return None
        for blob, offset in self.existing_blobs(run):
            if blob.artifact_id == artifact_id:
                return run, blob, offset
        return None

    def _link(self, run: Run, index: int) -> str:
        blob = self.blobs(run)[index]
        return self.blob_url(run, blob)

    def blob_url(self, run: Run, blob: ArtifactBlob) -> str:
        name = blob.filename or _DEFAULT_NAMES[blob.artifact_type]
        if self.scenario.file_urls == "file":
            return f"file:///data/skyvern/artifacts/{run.run_id}/{name}"
        lifetime = self.scenario.expires_after
        return self.signer.sign(
            blob.artifact_id, name, None if lifetime is None else lifetime * self.time_scale
        )

    def _downloaded_files(self, run: Run) -> list[dict[str, Any]]:
        files = []
        state = self.state(run)
        for blob in self.blobs(run)[2:]:
            files.append(
                {
                    "url": self.blob_url(run, blob),
                    "checksum": blob.checksum,
                    "filename": blob.filename,
                    "file_size": blob.size,
                    "modified_at": _maybe_wall(run, state.finished),
                    "artifact_id": blob.artifact_id,
                }
            )
        return files

    def artifact_record(self, run: Run, blob: ArtifactBlob, offset: float) -> dict[str, Any]:
        created = iso(run.wall(offset))
        is_task = not run.is_workflow and run.run_type != "task_v2"
        storage_name = blob.filename or blob.artifact_type
        return {
            "created_at": created,
            "modified_at": created,
            "artifact_id": blob.artifact_id,
            "artifact_type": blob.artifact_type,
            "uri": f"file:///data/skyvern/artifacts/{run.run_id}/{storage_name}",
            "bundle_key": None,
            "checksum": blob.checksum if blob.artifact_type == "download" else None,
            "file_size": blob.size,
            "task_id": run.run_id if is_task else None,
            "step_id": f"stp_{run.num}" if is_task else None,
            "workflow_run_id": run.wr_id or (run.run_id if run.is_workflow else None),
            "workflow_run_block_id": None,
            "run_id": run.run_id,
            "browser_session_id": None,
            "observer_cruise_id": run.run_id if run.run_type == "task_v2" else None,
            "observer_thought_id": None,
            "ai_suggestion_id": None,
            "signed_url": self.blob_url(run, blob),
            "archived": False,
            "organization_id": ORGANIZATION_ID,
        }

    def run_artifacts(self, run_id: str, types: list[str] | None) -> list[dict[str, Any]]:
        run = self.find(run_id)
        # Skyvern looks tsk_ ids up by task id and wr_ ids by workflow run id, so a
        # skyvern-2.0 run's tsk_v2_ id finds nothing (§18); unknown ids answer [] too.
        if run is None or (run.run_type == "task_v2" and run_id == run.run_id):
            return []
        return [
            self.artifact_record(run, blob, offset)
            for blob, offset in self.existing_blobs(run)
            if types is None or blob.artifact_type in types
        ]

    # ----- timeline ----------------------------------------------------------------------

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

    # ----- listing -----------------------------------------------------------------------

    def list_runs(self, query: ListRunsQuery) -> list[dict[str, Any]]:
        tag_filter = _parse_tags(query.tags) if query.tags else None
        needle = query.search_key.lower() if query.search_key else None
        searching = needle is not None or bool(query.workflow_permanent_id)
        skip = (query.page - 1) * query.page_size
        if searching and skip >= SEARCH_MATCH_LIMIT:
            raise ApiError(
                400,
                {
                    "detail": f"Search pagination is limited to the first {SEARCH_MATCH_LIMIT} "
                    "matches. Use a narrower search."
                },
            )
        statuses = {str(s) for s in query.status} if query.status else None
        run_types = {str(t) for t in query.run_type} if query.run_type else None
        wpids = set(query.workflow_permanent_id or ())
        now = self.clock() - self.scenario.list_status_lag * self.time_scale
        items: list[dict[str, Any]] = []
        for run in reversed(self.runs):
            if run_types and run.run_type not in run_types:
                continue
            if needle is not None and needle not in run.search_text:
                continue
            if wpids and self._wpid(run) not in wpids:
                continue
            if tag_filter is not None and not _tags_match(run.tags, tag_filter):
                continue
            state = run.state_at(now)
            if statuses and state.status not in statuses:
                continue
            if skip:
                skip -= 1
                continue
            items.append(self._list_item(run, state))
            if len(items) >= query.page_size:
                break
        return items

    def _wpid(self, run: Run) -> str | None:
        if run.is_workflow:
            return run.request.get("workflow_id")
        if run.run_type == "task_v2":
            return f"wpid_{run.num}"
        return None

    def _list_item(self, run: Run, state: RunState) -> dict[str, Any]:
        if run.run_type == "task_v2" or run.is_workflow:
            title = self.workflow_title(run)
        else:
            title = run.request.get("title")
        return {
            "task_run_id": f"tr_{run.num}",
            "run_id": run.run_id,
            "task_run_type": run.run_type,
            "status": state.status,
            "title": title,
            "started_at": _maybe_wall(run, state.started_offset),
            "finished_at": _maybe_wall(run, state.finished),
            "created_at": iso(run.created_wall),
            # A skyvern-2.0 run's generated workflow is not named in the list (§18).
            "workflow_permanent_id": self._wpid(run) if run.is_workflow else None,
            "workflow_deleted": False,
            "script_run": False,
            "trigger_type": None,  # runs created through the API list none
            "created_by": None,
            "attempt": state.attempt,
            "retry_pending": state.retry_pending,
            "next_attempt_at": _maybe_wall(run, state.next_attempt),
        }

    # ----- cancel ------------------------------------------------------------------------

    def cancel(self, run_id: str) -> None:
        run = self.find(run_id)
        if run is None or (run.run_type == "task_v2" and run_id == run.wr_id):
            raise ApiError(404, {"detail": f"Run not found {run_id}"})
        run.cancels += 1
        state = self.state(run)
        if run.run_type in ("task_v2", "workflow_run"):
            # Final runs keep their status, without error (a pending retry is revoked).
            if not state.is_final or state.retry_pending:
                self._mark_canceled(run)
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
        self._mark_canceled(run)

    def _mark_canceled(self, run: Run) -> None:
        run.cancel_offset = max(0.0, self.clock() - run.created_mono)
        self.on_run_canceled(run)

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


def _as_creation_answer(run: Run, body: dict[str, Any]) -> None:
    """What a real server's POST answers, seen on Skyvern 1.0.56 (skyvern-api.md §18)."""
    # Nothing has run yet: no step count and no error list, not 0 and [].
    body["step_count"] = None
    body["errors"] = None
    if run.run_type == "task_v2" and body["status"] == "created":
        body["status"] = "queued"  # skyvern-2.0 answers once its workflow run is queued
    elif not run.is_workflow and run.run_type != "task_v2":
        # A task run's first app link names its run id under /runs/; reads give /tasks/.
        body["app_url"] = f"{APP_URL}/runs/{run.run_id}"


def _maybe_wall(run: Run, offset: float | None) -> str | None:
    return None if offset is None else iso(run.wall(offset))


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


def _parse_tags(terms: list[str]) -> dict[str, set[str] | None]:
    """`key:value`, `key:*` or a bare label; comma-separated or repeated. Keys AND, values OR."""
    wanted: dict[str, set[str] | None] = {}
    for raw in terms:
        for term in raw.split(","):
            term = term.strip()
            if not term:
                continue
            key, sep, value = term.partition(":")
            if not key or (sep and not value):
                raise ApiError(400, {"detail": f"Invalid tag filter term: {term!r}"})
            if not sep:
                wanted.setdefault(key, None)
                continue
            if value == "*":
                wanted.setdefault(key, None)
                continue
            values = wanted.get(key)
            if key in wanted and values is None:
                continue
            wanted.setdefault(key, set()).add(value)  # type: ignore[union-attr]
    if sum(1 for _ in wanted) > 20:
        raise ApiError(400, {"detail": "At most 20 tag terms are allowed"})
    return wanted


def _tags_match(tags: frozenset[str], wanted: dict[str, set[str] | None]) -> bool:
    for key, values in wanted.items():
        if values is None:
            if key not in tags and not any(tag.startswith(f"{key}:") for tag in tags):
                return False
        elif not any(f"{key}:{value}" in tags for value in values):
            return False
    return True
