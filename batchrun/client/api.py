"""`SkyvernClient`: one async method per Skyvern endpoint the batch runner uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, BinaryIO, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from batchrun.client.downloads import DownloadResult, download
from batchrun.client.errors import (
    AmbiguousSubmitError,
    BadRequestError,
    ServerBusyError,
    ServerError,
    SkyvernError,
    TransportError,
)
from batchrun.client.models import (
    Artifact,
    BulkCancelResult,
    RunListItem,
    RunResponse,
    TimelineEntry,
    WebhookReplay,
)
from batchrun.client.transport import (
    DEFAULT_TIMEOUT,
    ApiTransport,
    HttpRetryPolicy,
    ThrottleCallback,
    retryable_when_idempotent,
    retryable_when_visible,
)
from batchrun.version import __version__

DEFAULT_BASE_URL = "https://api.skyvern.com"
BULK_CANCEL_LIMIT = 100  # the server answers 422 beyond this
# The replay call waits for one delivery that may itself take up to 60 s.
WEBHOOK_REPLAY_TIMEOUT = httpx.Timeout(connect=10.0, read=90.0, write=30.0, pool=30.0)

M = TypeVar("M", bound=BaseModel)


def _one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def _many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    def parse(response: httpx.Response) -> list[M]:
        body = response.json()
        if not isinstance(body, list):
            raise ValueError(f"expected a JSON array, got {type(body).__name__}")
        return [model.model_validate(item) for item in body]

    return parse


def _ignore(response: httpx.Response) -> None:
    return None


def _segment(value: str) -> str:
    return quote(value, safe="")


def may_have_created_run(error: SkyvernError) -> bool:
    """Whether a failed run-creation POST may still have created (and billed) a run."""
    if isinstance(error, TransportError):
        return error.request_sent  # connect/pool failures: the request never left
    if isinstance(error, ServerBusyError):
        # The submission gate says so explicitly; uvicorn sheds load before the app runs.
        detail = error.detail.strip().lower()
        return not ("no run was created" in detail or detail == "service unavailable")
    # 500/502/504: the commit may have happened. 4xx and 429 are refused before creation.
    return isinstance(error, ServerError)


# Before a batch starts, a dead API or a bad URL should be reported within seconds.
ACCESS_CHECK_RETRY = HttpRetryPolicy(attempts=3, initial=0.3, max_total=10.0)


class SkyvernClient:
    """Async client for Skyvern's REST API; one connection pool, use as `async with`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | None = None,
        retry: HttpRetryPolicy | None = None,
        on_throttle: ThrottleCallback | None = None,
        user_agent: str = f"batchrun/{__version__}",
    ) -> None:
        self._transport = ApiTransport(
            base_url or DEFAULT_BASE_URL,
            api_key,
            timeout=timeout or DEFAULT_TIMEOUT,
            retry=retry or HttpRetryPolicy(),
            user_agent=user_agent,
            on_throttle=on_throttle,
        )

    def __repr__(self) -> str:
        return f"SkyvernClient(base_url={self.base_url!r})"

    @property
    def base_url(self) -> str:
        return str(self._transport.base_url).rstrip("/")

    async def __aenter__(self) -> SkyvernClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    # -- run creation: never retried, see may_have_created_run ---------------------------

    async def run_task(
        self, body: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> RunResponse:
        """POST /v1/run/tasks. Raises AmbiguousSubmitError when a run may exist anyway."""
        return await self._create_run("v1/run/tasks", body, headers=headers, params=None)

    async def run_workflow(
        self,
        body: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        template: bool = False,
    ) -> RunResponse:
        """POST /v1/run/agents. Raises AmbiguousSubmitError when a run may exist anyway."""
        params = [("template", "true")] if template else None
        return await self._create_run("v1/run/agents", body, headers=headers, params=params)

    async def _create_run(
        self,
        path: str,
        body: dict[str, Any],
        *,
        headers: dict[str, str] | None,
        params: list[tuple[str, Any]] | None,
    ) -> RunResponse:
        try:
            response = await self._transport.send(
                "POST", self._transport.api_url(path), json=body, headers=headers, params=params
            )
        except SkyvernError as error:
            if may_have_created_run(error):
                raise AmbiguousSubmitError(error) from None
            raise
        try:
            return RunResponse.model_validate(response.json())
        except ValueError as exc:  # accepted, but we cannot read which run was made
            cause = ServerError(
                f"unreadable run-creation response: {exc}", status_code=response.status_code
            )
            raise AmbiguousSubmitError(cause) from None

    # -- reads and idempotent writes: retried ---------------------------------------------

    async def get_run(self, run_id: str) -> RunResponse:
        return await self._transport.request(
            "GET",
            f"v1/runs/{_segment(run_id)}",
            parse=_one(RunResponse),
            retryable=retryable_when_idempotent,
        )

    async def list_runs(
        self,
        *,
        status: Sequence[str] = (),
        run_type: Sequence[str] = (),
        search_key: str | None = None,
        tags: Sequence[str] = (),
        page: int = 1,
        page_size: int = 100,
    ) -> list[RunListItem]:
        """GET /v1/runs, newest first. A search reaches only its first 1000 matches."""
        params: list[tuple[str, Any]] = [("page", page), ("page_size", page_size)]
        params += [("status", str(value)) for value in status]
        params += [("run_type", str(value)) for value in run_type]
        params += [("tags", value) for value in tags]
        if search_key is not None:
            params.append(("search_key", search_key))
        return await self._transport.request(
            "GET",
            "v1/runs",
            params=params,
            parse=_many(RunListItem),
            retryable=retryable_when_idempotent,
        )

    async def check_access(self) -> None:
        """One cheap authenticated call, retried only briefly: is the API there, is the key
        good? Raises AuthError or TransportError (or another SkyvernError) when not."""
        await self._transport.request(
            "GET",
            "v1/runs",
            params=[("page", 1), ("page_size", 1)],
            parse=_ignore,
            retryable=retryable_when_idempotent,
            retry=ACCESS_CHECK_RETRY,
        )

    async def cancel_run(self, run_id: str) -> None:
        """POST /v1/runs/{id}/cancel. An already-canceled run counts as success, so a retry
        after a lost response does not turn into an error."""
        try:
            await self._transport.request(
                "POST",
                f"v1/runs/{_segment(run_id)}/cancel",
                parse=_ignore,
                retryable=retryable_when_idempotent,
            )
        except BadRequestError as error:
            if "already canceled" not in error.detail:
                raise

    async def bulk_cancel_runs(self, run_ids: Sequence[str]) -> BulkCancelResult:
        """POST /v1/runs/cancel in chunks of 100. After a retried chunk, runs that the lost
        first attempt canceled are reported in `failed`: GET them to be sure."""
        unique = list(dict.fromkeys(run_ids))
        result = BulkCancelResult()
        for start in range(0, len(unique), BULK_CANCEL_LIMIT):
            chunk = unique[start : start + BULK_CANCEL_LIMIT]
            part = await self._transport.request(
                "POST",
                "v1/runs/cancel",
                json={"run_ids": chunk},
                parse=_one(BulkCancelResult),
                retryable=retryable_when_idempotent,
            )
            result.cancelled.extend(part.cancelled)
            result.failed.extend(part.failed)
        return result

    async def get_run_timeline(self, run_id: str) -> list[TimelineEntry]:
        """Only workflow and skyvern-2.0 runs have one; others answer 400."""
        return await self._transport.request(
            "GET",
            f"v1/runs/{_segment(run_id)}/timeline",
            parse=_many(TimelineEntry),
            retryable=retryable_when_idempotent,
        )

    async def get_run_artifacts(
        self, run_id: str, artifact_types: Sequence[str] = ()
    ) -> list[Artifact]:
        """An unknown run id gives [] (not 404); query skyvern-2.0 runs by their wr_ id."""
        params = [("artifact_type", str(value)) for value in artifact_types]
        return await self._transport.request(
            "GET",
            f"v1/runs/{_segment(run_id)}/artifacts",
            params=params,
            parse=_many(Artifact),
            retryable=retryable_when_idempotent,
        )

    async def get_artifact(self, artifact_id: str) -> Artifact:
        """GET /v1/artifacts/{id} (hidden endpoint): one artifact with a fresh signed_url."""
        return await self._transport.request(
            "GET",
            f"v1/artifacts/{_segment(artifact_id)}",
            parse=_one(Artifact),
            retryable=retryable_when_idempotent,
        )

    async def retry_run_webhook(self, run_id: str, webhook_url: str | None = None) -> WebhookReplay:
        """Re-deliver a finished run's webhook, synchronously. Repeating it is visible to the
        receiver, so only failures where the server surely did nothing are retried."""
        body = {"webhook_url": webhook_url} if webhook_url else {}
        return await self._transport.request(
            "POST",
            f"v1/runs/{_segment(run_id)}/retry_webhook",
            json=body,
            parse=_one(WebhookReplay),
            retryable=retryable_when_visible,
            timeout=WEBHOOK_REPLAY_TIMEOUT,
        )

    async def download(
        self,
        url: str,
        sink: BinaryIO,
        *,
        artifact_id: str | None = None,
        max_bytes: int | None = None,
    ) -> DownloadResult:
        """Stream a file to `sink`. The key goes only to the API's own origin; `file://`
        URLs are fetched through GET /v1/artifacts/{artifact_id}/content."""
        return await download(
            self._transport, url, sink, artifact_id=artifact_id, max_bytes=max_bytes
        )
