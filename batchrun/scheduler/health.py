"""Whether the API is there: the ONE place that turns client errors into "API unavailable".

Every caller that talks to the API reports its successes and failures here. A refused key
ends the batch at once; without a single successful call for `down_after_s` the batch stops
(exit 3) and stays resumable.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from batchrun.api_access import RESUME_HINT, unavailable
from batchrun.client import AuthError, SkyvernError
from batchrun.errors import ApiUnavailableError


class ApiHealth:
    def __init__(
        self,
        base_url: str,
        *,
        down_after_s: float,
        on_success: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url
        self.down_after_s = down_after_s
        self._on_success = on_success
        self._clock = clock
        self._last_ok = clock()
        self.fatal: ApiUnavailableError | None = None

    def ok(self) -> None:
        self._last_ok = self._clock()
        self._on_success()

    def failed(self, error: SkyvernError) -> None:
        """A call failed: a refused key is fatal at once, anything else once it has lasted."""
        if isinstance(error, AuthError):
            raise self.fatal_error(error)
        if self._clock() - self._last_ok > self.down_after_s:
            raise self._remember(
                ApiUnavailableError(
                    f"no successful API call for {self.down_after_s:g}s (last error: {error})"
                    + RESUME_HINT
                )
            )

    def fatal_error(self, error: SkyvernError) -> ApiUnavailableError:
        return self._remember(unavailable(error, self.base_url, resumable=True))

    def fatal_message(self, message: str) -> ApiUnavailableError:
        return self._remember(ApiUnavailableError(message + RESUME_HINT))

    def _remember(self, error: ApiUnavailableError) -> ApiUnavailableError:
        self.fatal = self.fatal or error
        return error
