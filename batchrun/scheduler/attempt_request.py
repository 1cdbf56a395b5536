"""What one attempt sends and what the state keeps of it."""

from __future__ import annotations

from typing import Any

from batchrun.client import tag_request
from batchrun.spec import TaskSpec
from batchrun.spec.batch import AttemptRequest


def attempt_bodies(
    task: TaskSpec, tries: int, key: str
) -> tuple[AttemptRequest, dict[str, Any], dict[str, Any]]:
    """The spec's request for attempt `tries`, the body to send (tagged with `key`) and the
    body the state keeps (`${VAR}` in place of environment values).

    Without environment values the kept body is the one sent: nothing changes it afterwards
    (the push receiver's routing makes a new one).
    """
    request = task.request_for_attempt(tries)
    body = tag_request(request.body, kind=task.kind, key=key, label=task.id)
    if not task.secrets:
        return request, body, body
    redacted = task.request_for_attempt(tries, redacted=True)
    return request, body, tag_request(redacted.body, kind=task.kind, key=key, label=task.id)
