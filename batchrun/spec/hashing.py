"""The content hash that tells `plan` whether a succeeded task's request has changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """One JSON text per value: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def request_hash(
    kind: str, body: dict[str, Any], headers: dict[str, str], query: dict[str, str]
) -> str:
    """sha256 over what is sent for attempt 1: the kind and the body, headers and query.

    Deliberately not the retry policy, timeout or escalations: tuning how failures are
    retried must never make `apply` pay again for work that already succeeded.
    """
    document = {"kind": kind, "body": body, "headers": headers, "query": query}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
