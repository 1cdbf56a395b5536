"""Spec problems, each tied to a file, line and column, and the error that carries them all."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from batchrun.errors import UsageError

# One issue, one line: a key like "\r" written by the user must not break the output.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda match: ascii(match.group(0))[1:-1], text)


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a file the user wrote: 1-based line and column."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class SpecIssue:
    path: str
    line: int
    col: int
    message: str

    @classmethod
    def at(cls, location: SourceLocation, message: str) -> SpecIssue:
        return cls(location.path, location.line, location.col, message)

    def __str__(self) -> str:
        return _one_line(f"{self.path}:{self.line}:{self.col}: {self.message}")

    def as_warning(self) -> str:
        """`path:line:col: warning: message`, as `validate` prints a warning."""
        return _one_line(f"{self.path}:{self.line}:{self.col}: warning: {self.message}")


class SpecError(UsageError):
    """A spec that cannot be used; `issues` holds every problem found, in file order."""

    def __init__(self, issues: Iterable[SpecIssue]) -> None:
        self.issues: list[SpecIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class IssueCollector:
    """Gathers issues once each (expanded rows repeat the same template errors)."""

    def __init__(self) -> None:
        self._issues: dict[SpecIssue, None] = {}

    def add(self, location: SourceLocation, message: str) -> None:
        self._issues.setdefault(SpecIssue.at(location, message), None)

    def extend(self, issues: Iterable[SpecIssue]) -> None:
        for issue in issues:
            self._issues.setdefault(issue, None)

    def __bool__(self) -> bool:
        return bool(self._issues)

    def __len__(self) -> int:
        return len(self._issues)

    def in_order(self) -> list[SpecIssue]:
        """Every issue, file by file (in order of first mention), in line order."""
        file_order = {issue.path: None for issue in self._issues}
        rank = {path: index for index, path in enumerate(file_order)}
        return sorted(self._issues, key=lambda i: (rank[i.path], i.line, i.col))

    def raise_if_any(self) -> None:
        if self._issues:
            raise SpecError(self.in_order())
