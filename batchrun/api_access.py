"""Where the API is and which key to use: from the spec, the environment and the command line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from batchrun.client import AuthError, SkyvernError, TransportError
from batchrun.errors import ApiUnavailableError, UsageError
from batchrun.spec import BatchSpec


@dataclass(frozen=True)
class ApiAccess:
    base_url: str
    api_key: str

    def __repr__(self) -> str:  # the key must never reach a log or a traceback
        return f"ApiAccess(base_url={self.base_url!r}, api_key='***')"


def resolve_api_access(
    spec: BatchSpec, *, api_url: str | None = None, environ: Mapping[str, str] | None = None
) -> ApiAccess:
    return access_for(spec.api_base_url, spec.api_key_env, api_url=api_url, environ=environ)


def access_for(
    spec_base_url: str,
    api_key_env: str,
    *,
    api_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ApiAccess:
    """The API's URL (the command line's, else the spec's) and the key from `api_key_env`."""
    env = os.environ if environ is None else environ
    base_url = (api_url or spec_base_url).rstrip("/")
    api_key = env.get(api_key_env, "").strip()
    if not api_key:
        raise UsageError(
            f"the environment variable {api_key_env} is not set: it must hold your Skyvern "
            f"API key (the spec's api.api_key_env names the variable)"
        )
    return ApiAccess(base_url=base_url, api_key=api_key)


RESUME_HINT = "; run the same command again to resume"


def unavailable(
    error: SkyvernError, base_url: str, *, resumable: bool = False
) -> ApiUnavailableError:
    """The user-facing error for an API that refused the key or could not be reached."""
    hint = RESUME_HINT if resumable else ""
    if isinstance(error, AuthError):
        return ApiUnavailableError(
            f"the API at {base_url} rejected the API key: {error.detail}{hint}"
        )
    return ApiUnavailableError(f"cannot reach the Skyvern API at {base_url}: {error}{hint}")


def is_fatal(error: SkyvernError) -> bool:
    """Whether `error` means no further request can succeed (wrong key, no server)."""
    return isinstance(error, AuthError | TransportError)
