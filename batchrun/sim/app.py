"""The simulator's HTTP surface: Skyvern's `/v1` endpoints plus the `/_sim/` admin routes.

Handlers only translate HTTP to `SimulatedSkyvern` calls and back; the behaviour lives there.
Every `/v1` path also answers with a trailing slash, as Skyvern's routers do.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from batchrun.errors import UsageError
from batchrun.sim.faults import FaultLayer
from batchrun.sim.files import FileOrigin, LinkSigner, content_response
from batchrun.sim.requests import (
    ArtifactsQuery,
    BulkCancelRequest,
    ListRunsQuery,
    RequestInvalid,
    RetryWebhookRequest,
    RunEngine,
    TaskRunRequest,
    WorkflowRunRequest,
    parse_body,
    parse_query,
)
from batchrun.sim.scenario import Scenario
from batchrun.sim.skyvern import ApiError, SimulatedSkyvern
from batchrun.sim.store import RunStore
from batchrun.sim.webhooks import WebhookSender

SERVER_VERSION = "1.0.56"
Handler = Callable[[Request], Awaitable[Response]]


class SimState:
    """Everything one simulator instance holds; shared by both origins and the admin API."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        api_key: str,
        seed: int,
        time_scale: float,
        store: RunStore | None = None,
    ) -> None:
        self.api_key = api_key
        self.signer = LinkSigner(store.signing_key() if store is not None else None)
        self.skyvern = SimulatedSkyvern(
            scenario,
            api_key=api_key,
            seed=seed,
            time_scale=time_scale,
            signer=self.signer,
            store=store,
        )
        self.webhooks = WebhookSender(self.skyvern)
        self.file_origin = FileOrigin(self.signer, self._finished_blob)
        self.fault_rng = random.Random(self.skyvern.seed)

    def _finished_blob(self, artifact_id: str) -> Any:
        found = self.skyvern.find_blob(artifact_id)
        if found is None or not self.skyvern.content_ready(*found[:2]):
            return None
        return found[1]

    def set_scenario(self, scenario: Scenario) -> None:
        self.skyvern.set_scenario(scenario)
        self.fault_rng = random.Random(self.skyvern.seed)

    def reset(self) -> None:
        self.skyvern.reset()
        self.webhooks.reset()
        self.file_origin.requests.clear()
        self.fault_rng = random.Random(self.skyvern.seed)

    def stats(self) -> dict[str, Any]:
        stats = self.skyvern.stats()
        stats["webhook_deliveries"] = list(self.webhooks.deliveries)
        return stats


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _check_api_key(request: Request, expected: str) -> None:
    """Skyvern answers every authentication failure with 403, never 401 (docs/skyvern-api.md §2)."""
    key = request.headers.get("x-api-key")
    if not key and not request.headers.get("authorization"):
        raise ApiError(403, {"detail": "Invalid credentials"})
    if key != expected:
        raise ApiError(403, {"detail": "Could not validate credentials"})


def _handler(sim: SimState, *, auth: bool = True) -> Callable[[Handler], Handler]:
    """Wraps a route: API-key check and Skyvern's error bodies for every failure."""

    def wrap(func: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                if auth:
                    _check_api_key(request, sim.api_key)
                return await func(request)
            except ApiError as exc:
                return json_response(exc.body, exc.status, exc.headers)
            except RequestInvalid as exc:
                return json_response({"detail": exc.detail}, 422)
            except Exception as exc:  # the server's catch-all handler (docs/skyvern-api.md §3)
                return json_response({"error": f"Unexpected error: {type(exc).__name__}"}, 500)

        return endpoint

    return wrap


def _query_dict(request: Request, list_fields: set[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in list_fields:
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params


def _refuse_if_scripted(skyvern: Any, fields: dict[str, str]) -> None:
    """A scenario rule may refuse a create outright: nothing is created."""
    refusal = skyvern.scenario.rule_for(fields).refuse
    if refusal is not None:
        status, detail = refusal
        raise ApiError(status, {"detail": detail})


def _normalize_url(url: str | None) -> str | None:
    """Skyvern adds a scheme when one is missing and rejects what still has no host (400)."""
    if url is None:
        return None
    candidate = url if "://" in url else f"https://{url}"
    if not urlsplit(candidate).hostname:
        raise ApiError(400, {"detail": f"Invalid URL: {url}"})
    return candidate


def build_api_app(sim: SimState) -> Any:
    skyvern = sim.skyvern

    async def run_task(request: Request) -> Response:
        body = parse_body(await request.body(), TaskRunRequest)
        if body.engine != RunEngine.SKYVERN_V2 and not body.publish_workflow:
            if body.browser_profile_id:
                raise ApiError(
                    400, {"detail": "browser_profile_id is only supported with skyvern-2.0"}
                )
            if body.start_fresh_browser:
                raise ApiError(
                    400, {"detail": "start_fresh_browser is only supported with skyvern-2.0"}
                )
        body.url = _normalize_url(body.url)
        _refuse_if_scripted(skyvern, {"title": body.title or "", "url": body.url or "",
                                     "prompt": body.prompt})  # fmt: skip
        run = skyvern.create_task(body, request.headers.get("x-api-key", ""))
        return json_response(skyvern.run_response(run, at_creation=True))

    async def run_workflow(request: Request) -> Response:
        body = parse_body(await request.body(), WorkflowRunRequest)
        run = skyvern.create_workflow(body, request.headers.get("x-api-key", ""))
        return json_response(skyvern.run_response(run, at_creation=True))

    async def get_run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        run = skyvern.find(run_id)
        if run is None:
            raise ApiError(404, {"detail": f"Task run not found {run_id}"})
        run.polls += 1
        return json_response(skyvern.run_response(run))

    async def list_runs(request: Request) -> Response:
        fields = {"status", "run_type", "tags", "workflow_permanent_id"}
        query = parse_query(_query_dict(request, fields), ListRunsQuery)
        return json_response(skyvern.list_runs(query))

    async def cancel_run(request: Request) -> Response:
        skyvern.cancel(request.path_params["run_id"])
        return json_response(None)

    async def bulk_cancel(request: Request) -> Response:
        body = parse_body(await request.body(), BulkCancelRequest)
        cancelled: list[str] = []
        failed: list[str] = []
        for run_id in dict.fromkeys(body.run_ids):
            try:
                skyvern.cancel(run_id, reschedule=False)
            except ApiError:
                failed.append(run_id)
            else:
                cancelled.append(run_id)
        skyvern.reschedule_slots()  # once for the lot: re-planning is linear in queued runs
        return json_response({"cancelled": cancelled, "failed": failed})

    async def timeline(request: Request) -> Response:
        return json_response(skyvern.timeline(request.path_params["run_id"]))

    async def run_artifacts(request: Request) -> Response:
        query = parse_query(_query_dict(request, {"artifact_type"}), ArtifactsQuery)
        types = [str(t) for t in query.artifact_type] if query.artifact_type else None
        return json_response(skyvern.run_artifacts(request.path_params["run_id"], types))

    async def get_artifact(request: Request) -> Response:
        artifact_id = request.path_params["artifact_id"]
        found = skyvern.find_blob(artifact_id)
        if found is None:
            raise ApiError(404, {"detail": f"Artifact not found {artifact_id}"})
        return json_response(skyvern.artifact_record(*found))

    async def artifact_content(request: Request) -> Response:
        artifact_id = request.path_params["artifact_id"]
        params = request.query_params
        signed = "sig" in params
        if signed:
            if not sim.signer.verify(artifact_id, params.get("expiry"), params.get("sig")):
                raise ApiError(403, {"detail": "Invalid or expired artifact URL"})
        else:
            _check_api_key(request, sim.api_key)
        found = skyvern.find_blob(artifact_id)
        if found is None:
            raise ApiError(404, {"detail": f"Artifact not found {artifact_id}"})
        if not skyvern.content_ready(found[0], found[1]):
            raise ApiError(404, {"detail": "Artifact content not available"})
        return content_response(found[1], request.headers.get("range"), signed=signed)

    async def retry_webhook(request: Request) -> Response:
        raw = await request.body()
        # The body is optional: absent (or JSON null) means "the run's own webhook_url".
        body = parse_body(raw, RetryWebhookRequest) if raw.strip() not in (b"", b"null") else None
        report = await sim.webhooks.replay(
            request.path_params["run_id"],
            body.webhook_url if body else None,
            request.headers.get("x-api-key", ""),
        )
        return json_response(report)

    async def version(request: Request) -> Response:
        return json_response({"version": SERVER_VERSION})

    h = _handler(sim)
    routes = [
        ("/v1/run/tasks", h(run_task), ["POST"]),
        ("/v1/run/agents", h(run_workflow), ["POST"]),
        ("/v1/run/workflows", h(run_workflow), ["POST"]),
        ("/v1/runs", h(list_runs), ["GET"]),
        ("/v1/runs/cancel", h(bulk_cancel), ["POST"]),
        ("/v1/runs/{run_id}", h(get_run), ["GET"]),
        ("/v1/runs/{run_id}/cancel", h(cancel_run), ["POST"]),
        ("/v1/runs/{run_id}/timeline", h(timeline), ["GET"]),
        ("/v1/runs/{run_id}/artifacts", h(run_artifacts), ["GET"]),
        ("/v1/runs/{run_id}/retry_webhook", h(retry_webhook), ["POST"]),
        ("/v1/artifacts/{artifact_id}", h(get_artifact), ["GET"]),
        (
            "/v1/artifacts/{artifact_id}/content",
            _handler(sim, auth=False)(artifact_content),
            ["GET"],
        ),
        ("/v1/version", _handler(sim, auth=False)(version), ["GET"]),
    ]
    starlette_routes = []
    for path, endpoint, methods in routes:
        starlette_routes.append(Route(path, endpoint, methods=methods))
        starlette_routes.append(Route(path + "/", endpoint, methods=methods))
    starlette_routes += admin_routes(sim)
    app = Starlette(routes=starlette_routes)
    app.router.redirect_slashes = False
    return FaultLayer(app, "api", sim)


def admin_routes(sim: SimState) -> list[Route]:
    """`/_sim/`: counters and controls for tests and benchmarks. No API key, never faulted."""

    async def stats(request: Request) -> Response:
        return json_response(sim.stats())

    async def file_requests(request: Request) -> Response:
        return json_response(list(sim.file_origin.requests))

    async def set_scenario(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            scenario = Scenario.from_dict(data, source="POST /_sim/scenario")
        except (ValueError, UsageError) as exc:
            return json_response({"detail": str(exc)}, 400)
        sim.set_scenario(scenario)
        return json_response({"ok": True})

    async def reset(request: Request) -> Response:
        sim.reset()
        return json_response({"ok": True})

    return [
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/file-requests", file_requests, methods=["GET"]),
        Route("/_sim/scenario", set_scenario, methods=["POST"]),
        Route("/_sim/reset", reset, methods=["POST"]),
    ]


def build_file_app(sim: SimState) -> Any:
    return sim.file_origin.app(lambda app, origin: FaultLayer(app, origin, sim))
