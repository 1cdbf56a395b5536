"""The errors a user can cause or meet, each tied to a documented exit code.

Every command ends through `batchrun.cli.main`, which turns a `BatchrunError` into one
readable line on stderr and its exit code: never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    TASKS_FAILED = 1  # some task failed or was canceled after its retries
    USAGE = 2  # bad command line or spec
    API_UNAVAILABLE = 3  # credentials rejected, or the API could not be reached at all
    LOCKED = 4  # another `apply` holds the batch
    BUDGET_EXHAUSTED = 5  # the budget ran out with tasks left unstarted
    LOCAL_IO = 6  # the state file or results directory could not be written (disk full, ...)
    HALTED = 7  # the spec's halt policy stopped the batch (too many failures)
    INTERRUPTED = 130  # SIGINT / SIGTERM: run the same command again to resume


class BatchrunError(Exception):
    """An error with a message meant for the user and the exit code it ends with."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class UsageError(BatchrunError):
    exit_code = ExitCode.USAGE


class ApiUnavailableError(BatchrunError):
    exit_code = ExitCode.API_UNAVAILABLE


class BatchLockedError(BatchrunError):
    exit_code = ExitCode.LOCKED


class LocalIOError(BatchrunError):
    exit_code = ExitCode.LOCAL_IO
