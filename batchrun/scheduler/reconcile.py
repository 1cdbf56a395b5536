"""Finding the run an attempt may have created when its create answer was lost.

Used after an ambiguous create (dropped connection, read timeout, 5xx) and for attempts a
killed process left open. The lookup is repeated until `settle_s` after the attempt was
sent, because a create the server is still working on is not listed yet; only when no run
exists by then is the attempt recorded as not created, and the task may be submitted again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import anyio

from batchrun.client import AmbiguousSubmitError, RunResponse, SkyvernError, TransportError
from batchrun.scheduler.health import ApiHealth
from batchrun.scheduler.run_lookup import RunReader, find_attempt_run
from batchrun.state import AttemptRecord, StateStore, now_utc

LOOKUP_PAUSE_S = 2.0


class Reconciler:
    def __init__(
        self,
        client: RunReader,
        store: StateStore,
        batch_id: int,
        health: ApiHealth,
        *,
        backoff: Callable[[float], float],
    ) -> None:
        self.client = client
        self.store = store
        self.batch_id = batch_id
        self.health = health
        self._backoff = backoff

    async def find(self, attempt: AttemptRecord, *, settle_s: float) -> RunResponse | None:
        """The attempt's run, or None once the server has had `settle_s` to list it."""
        deadline = attempt.prepared_at + timedelta(seconds=settle_s)
        while True:
            try:
                found = await find_attempt_run(
                    self.client,
                    kind=attempt.kind,  # type: ignore[arg-type]
                    body=attempt.request,
                    key=attempt.attempt_key,
                    sent_at=attempt.prepared_at,
                    exclude_run_ids=self.store.known_run_ids(self.batch_id),
                )
            except SkyvernError as error:
                self.health.failed(error)
                await anyio.sleep(self._backoff(LOOKUP_PAUSE_S))
                continue
            self.health.ok()
            if found is not None:
                return found
            remaining = (deadline - now_utc()).total_seconds()
            if remaining <= 0:
                return None
            await anyio.sleep(min(LOOKUP_PAUSE_S, remaining))


def settle_time(error: AmbiguousSubmitError, longest: float) -> float:
    """How long a lost create answer may leave its run unlisted."""
    cause = error.cause
    if isinstance(cause, TransportError) and cause.timed_out:
        return longest  # the server may still be creating it
    return min(LOOKUP_PAUSE_S, longest)  # it answered or hung up: it is done
