"""The async Skyvern API client: `SkyvernClient`, its models, errors and attempt keys."""

from batchrun.client.api import DEFAULT_BASE_URL, SkyvernClient, may_have_created_run
from batchrun.client.attempt_keys import new_attempt_key, tag_request
from batchrun.client.downloads import DownloadResult
from batchrun.client.errors import (
    AmbiguousSubmitError,
    AuthError,
    BadRequestError,
    ConflictError,
    FileTooLargeError,
    LinkExpiredError,
    NotFoundError,
    RateLimitedError,
    ServerBusyError,
    ServerError,
    SkyvernError,
    TransportError,
)
from batchrun.client.models import (
    TERMINAL_STATUSES,
    Artifact,
    BulkCancelResult,
    FileInfo,
    RunListItem,
    RunResponse,
    RunStatus,
    RunType,
    TimelineEntry,
    WebhookReplay,
    artifact_owner_id,
)
from batchrun.client.transport import HttpRetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "TERMINAL_STATUSES",
    "AmbiguousSubmitError",
    "Artifact",
    "AuthError",
    "BadRequestError",
    "BulkCancelResult",
    "ConflictError",
    "DownloadResult",
    "FileInfo",
    "FileTooLargeError",
    "HttpRetryPolicy",
    "LinkExpiredError",
    "NotFoundError",
    "RateLimitedError",
    "RunListItem",
    "RunResponse",
    "RunStatus",
    "RunType",
    "ServerBusyError",
    "ServerError",
    "SkyvernClient",
    "SkyvernError",
    "TimelineEntry",
    "TransportError",
    "WebhookReplay",
    "artifact_owner_id",
    "may_have_created_run",
    "new_attempt_key",
    "tag_request",
]
