"""Talking to the API on behalf of a look-up command: which failures end it, and how.

A rejected key or an unreachable server ends the command with exit 3, whatever it was
doing; anything else concerns one run and is reported next to it.
"""

from __future__ import annotations

from batchrun.api_access import ApiAccess
from batchrun.client import AuthError, HttpRetryPolicy, SkyvernClient, SkyvernError, TransportError
from batchrun.errors import ApiUnavailableError

# Someone is waiting at a terminal: a server that is down should be said so within seconds,
# not after the two minutes of retries a batch can afford.
LOOKUP_RETRY = HttpRetryPolicy(attempts=3, initial=0.5, max_delay=5.0, max_total=15.0)


def lookup_client(access: ApiAccess) -> SkyvernClient:
    """A client for the look-up commands (`inspect`, `artifacts`, `webhooks replay`)."""
    return SkyvernClient(access.base_url, access.api_key, retry=LOOKUP_RETRY)


def is_fatal(error: SkyvernError) -> bool:
    """Whether `error` means no further request can succeed (wrong key, no server)."""
    return isinstance(error, AuthError | TransportError)


def api_unavailable(error: SkyvernError, base_url: str) -> ApiUnavailableError:
    if isinstance(error, AuthError):
        return ApiUnavailableError(f"the API at {base_url} rejected the API key: {error.detail}")
    return ApiUnavailableError(f"cannot reach the Skyvern API at {base_url}: {error}")
