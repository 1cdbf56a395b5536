"""The client's pure decisions: error bodies, Retry-After, submit outcomes, attempt tags."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from batchrun.client import (
    AuthError,
    BadRequestError,
    ConflictError,
    HttpRetryPolicy,
    NotFoundError,
    RateLimitedError,
    RunResponse,
    RunStatus,
    RunType,
    ServerBusyError,
    ServerError,
    SkyvernClient,
    TransportError,
    may_have_created_run,
    new_attempt_key,
    tag_request,
)
from batchrun.client.attempt_keys import url_search_key
from batchrun.client.errors import error_for_response, parse_retry_after


def _response(status: int, body: bytes, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": content_type})


def test_fastapi_list_detail_is_flattened() -> None:
    body = (
        b'{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required"},'
        b'{"type":"int_parsing","loc":["query","page"],"msg":"Input should be a valid integer"}]}'
    )
    error = error_for_response(_response(422, body))
    assert isinstance(error, BadRequestError)
    assert error.detail == (
        "body.prompt: Field required; query.page: Input should be a valid integer"
    )
    assert error.status_code == 422


@pytest.mark.parametrize(
    ("status", "body", "kind", "detail"),
    [
        (400, b'{"detail":"Invalid URL"}', BadRequestError, "Invalid URL"),
        (403, b'{"detail":"Invalid credentials"}', AuthError, "Invalid credentials"),
        (404, b"", NotFoundError, "Not Found"),
        (409, b'{"detail":"retry pending"}', ConflictError, "retry pending"),
        (500, b'{"error":"Unexpected error: Boom"}', ServerError, "Unexpected error: Boom"),
        (502, b"<html>bad gateway</html>", ServerError, "<html>bad gateway</html>"),
        (503, b"Service Unavailable", ServerBusyError, "Service Unavailable"),
    ],
)
def test_status_maps_to_error_class(status: int, body: bytes, kind: type, detail: str) -> None:
    error = error_for_response(_response(status, body))
    assert type(error) is kind
    assert error.detail == detail


def test_rate_limit_without_retry_after() -> None:
    error = error_for_response(_response(429, b'{"detail":"Rate limit exceeded"}'))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is None


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0


def test_retry_delay_honours_retry_after_capped_and_jitters_otherwise() -> None:
    policy = HttpRetryPolicy(initial=1.0, factor=2.0, max_delay=4.0)
    assert policy.delay(1, 2.5) == 2.5
    assert policy.delay(1, 60.0) == 4.0
    for retry in range(1, 8):
        assert 0.0 <= policy.delay(retry, None) <= min(4.0, 2.0 ** (retry - 1))


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (TransportError("ConnectError", request_sent=False), False),
        (TransportError("ReadTimeout", request_sent=True), True),
        (ServerError("Unexpected error: Boom", status_code=500), True),
        (ServerError("Bad Gateway", status_code=502), True),
        (ServerBusyError("Database temporarily unavailable"), True),
        (
            ServerBusyError(
                "The server is busy dispatching other runs. No run was created; retry this request."
            ),
            False,
        ),
        (ServerBusyError("Service Unavailable"), False),  # uvicorn sheds load before the app
        (RateLimitedError("Rate limit exceeded"), False),
        (BadRequestError("body.prompt: Field required", status_code=422), False),
        (AuthError("Invalid credentials", status_code=403), False),
    ],
)
def test_which_failed_submits_may_have_created_a_run(error: Exception, ambiguous: bool) -> None:
    assert may_have_created_run(error) is ambiguous  # type: ignore[arg-type]


def test_attempt_keys_are_unique_and_safe() -> None:
    keys = {new_attempt_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        assert key.startswith("br-") and len(key) == 15
        assert key.replace("-", "").isalnum() and key == key.lower()


def test_tag_request_per_engine_and_kind() -> None:
    body = {"prompt": "p", "url": "https://a.example/x", "title": "Invoices"}
    v1 = tag_request(body, kind="task", key="br-k1", label="task-7")
    assert v1["title"] == "Invoices [br-k1]"
    assert body["title"] == "Invoices"  # a copy, the original untouched
    untitled = tag_request(
        {"prompt": "p", "engine": "skyvern-3.0"}, kind="task", key="k", label="t7"
    )
    assert untitled["title"] == "t7 [k]"
    for v2 in ({"prompt": "p", "engine": "skyvern-2.0"}, {"prompt": "p", "publish_workflow": True}):
        assert tag_request(v2, kind="task", key="k", label="t") == v2
    workflow = {"workflow_id": "wpid_1", "run_metadata": {"team": "ops"}}
    tagged = tag_request(workflow, kind="workflow", key="br-k2", label="t")
    assert tagged["run_metadata"] == {"team": "ops", "batchrun": "br-k2"}
    assert "title" not in tagged
    assert workflow["run_metadata"] == {"team": "ops"}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://Shop.Example.com/orders/", "shop.example.com/orders"),
        ("shop.example.com/a b", "shop.example.com"),  # a path the server would re-encode
        ("https://shop.example.com/x?q=1#frag", "shop.example.com/x"),
        (None, None),
        ("a", None),
    ],
)
def test_url_search_key_is_what_the_server_stores_verbatim(
    url: str | None, key: str | None
) -> None:
    assert url_search_key(url) == key


def test_run_response_is_forward_compatible_and_utc() -> None:
    run = RunResponse.model_validate(
        {
            "run_id": "wr_1",
            "run_type": "workflow_run",
            "status": "failed",
            "created_at": "2026-01-31T15:20:42.160725",
            "finished_at": "2026-01-31T15:21:00+01:00",
            "retry_pending": True,
            "brand_new_field": {"x": 1},
        }
    )
    assert run.run_type is RunType.WORKFLOW_RUN and run.status is RunStatus.FAILED
    assert run.created_at == datetime(2026, 1, 31, 15, 20, 42, 160725, tzinfo=UTC)
    assert run.finished_at == datetime(2026, 1, 31, 14, 21, tzinfo=UTC)
    assert not run.is_final  # terminal, but another attempt is scheduled
    assert run.brand_new_field == {"x": 1}  # type: ignore[attr-defined]
    future = RunResponse.model_validate(
        {"run_id": "x", "run_type": "task_v9", "status": "dreaming"}
    )
    assert future.status == "dreaming" and not future.is_final


def test_repr_never_shows_the_key() -> None:
    client = SkyvernClient("http://127.0.0.1:9", "sk-very-secret")
    assert "sk-very-secret" not in repr(client)
    assert "sk-very-secret" not in str(vars(client))
