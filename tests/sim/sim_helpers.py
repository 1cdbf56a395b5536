"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

TERMINAL = {"completed", "failed", "terminated", "timed_out", "canceled"}
# A copy of ../shared/skyvern-openapi.json (Fern's source spec from Skyvern-AI/skyvern at
# 07222e7a, blob d666e7e3), kept here so the contract tests run wherever the repo is cloned.
OPENAPI_PATH = Path(__file__).resolve().parent / "skyvern-openapi.json"
_OPENAPI_URI = "urn:skyvern-openapi"


def api_client(sim: Any, **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        base_url=sim.base_url, headers={"x-api-key": sim.api_key}, timeout=10, **kwargs
    )


def wait_for(
    client: httpx.Client, run_id: str, statuses: set[str] = TERMINAL, timeout: float = 10.0
) -> dict[str, Any]:
    """Poll `GET /v1/runs/{id}` until its status is one of `statuses` (and no retry pends)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/runs/{run_id}").json()
        if body["status"] in statuses and not body.get("retry_pending"):
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['status']}"
        time.sleep(0.01)


@cache
def openapi() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text())


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(openapi(), default_specification=DRAFT202012)
    return Registry().with_resource(_OPENAPI_URI, resource)


def response_schema(path: str, method: str = "get", status: str = "200") -> dict[str, Any]:
    """The OpenAPI document's schema for one response, its $refs resolvable."""
    content = openapi()["paths"][path][method]["responses"][status]["content"]
    return content["application/json"]["schema"]


def component(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def validate(schema: dict[str, Any], body: Any) -> None:
    """Raises jsonschema.ValidationError unless `body` satisfies `schema`."""
    rooted = json.loads(
        json.dumps(schema).replace('"#/components/', f'"{_OPENAPI_URI}#/components/')
    )
    Draft202012Validator(rooted, registry=_registry()).validate(body)
