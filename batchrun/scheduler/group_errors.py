"""Which error a task group's bundle of errors should be reported as."""

from __future__ import annotations

from batchrun.errors import BatchrunError


def primary_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error worth reporting out of a task group's bundle: ours first, then any other."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    for error in leaves:
        if isinstance(error, BatchrunError):
            return error
    return leaves[0]
