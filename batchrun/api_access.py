"""Where the API is and which key to use: from the spec, the environment and the command line."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from batchrun.errors import UsageError
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
    env = os.environ if environ is None else environ
    base_url = (api_url or spec.api_base_url).rstrip("/")
    api_key = env.get(spec.api_key_env, "").strip()
    if not api_key:
        raise UsageError(
            f"the environment variable {spec.api_key_env} is not set: it must hold your Skyvern "
            f"API key (the spec's api.api_key_env names the variable)"
        )
    return ApiAccess(base_url=base_url, api_key=api_key)


def spec_secrets(spec: BatchSpec) -> set[str]:
    """Values the spec took from the environment: never to be written in clear text."""
    return {value for task in spec.tasks for value in task.secrets.values() if value}
