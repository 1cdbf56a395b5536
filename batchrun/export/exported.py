"""The record of one file written to a results directory (a run's download or artifact)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ExportedFile:
    path: str  # relative to the batch results directory; "" when nothing was kept
    filename: str | None  # the server's name, untrusted, for reference only
    size: int
    sha256: str
    checksum_ok: bool | None  # None: the server gave no checksum to compare with
    error: str | None  # why the file is missing or incomplete; None when it is intact

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_value(cls, value: ExportedFile | Mapping[str, Any]) -> ExportedFile:
        """Accepts the dataclass itself or its `as_dict()` form (how the state stores it)."""
        if isinstance(value, ExportedFile):
            return value
        return cls(
            path=str(value.get("path") or ""),
            filename=value.get("filename"),
            size=int(value.get("size") or 0),
            sha256=str(value.get("sha256") or ""),
            checksum_ok=value.get("checksum_ok"),
            error=value.get("error"),
        )
