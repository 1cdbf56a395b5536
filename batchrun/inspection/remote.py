"""Talking to the API on behalf of a look-up command: which failures end it, and how.

A rejected key or an unreachable server ends the command with exit 3, whatever it was
doing; anything else concerns one run and is reported next to it.
"""

from __future__ import annotations

from batchrun.api_access import ApiAccess, is_fatal, unavailable
from batchrun.client import HttpRetryPolicy, SkyvernClient

# Someone is waiting at a terminal: a server that is down should be said so within seconds,
# not after the two minutes of retries a batch can afford.
LOOKUP_RETRY = HttpRetryPolicy(attempts=3, initial=0.5, max_delay=5.0, max_total=15.0)


def lookup_client(access: ApiAccess) -> SkyvernClient:
    """A client for the look-up commands (`inspect`, `artifacts`, `webhooks replay`)."""
    return SkyvernClient(access.base_url, access.api_key, retry=LOOKUP_RETRY)


api_unavailable = unavailable

__all__ = ["api_unavailable", "is_fatal", "lookup_client"]
