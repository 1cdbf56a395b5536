"""Defence in depth: no secret value reaches a console or log line, whatever a message holds."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from typing import Any

from batchrun.events import BatchEvent

REDACTED = "***"

# Shorter values are not secrets worth the name and, masked, would shred ordinary words
# and numbers in every line (an env-interpolated "us" or "10").
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every occurrence of any secret value with `***`."""

    def __init__(self, secrets: Collection[str] = ()) -> None:
        usable = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        # Longest first, so a secret that contains another is masked whole.
        self._pattern = re.compile("|".join(map(re.escape, usable))) if usable else None

    def text(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every string (keys included) redacted."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        return value

    def event(self, event: BatchEvent) -> BatchEvent:
        if self._pattern is None:
            return event
        return dataclasses.replace(
            event,
            batch=self.text(event.batch),
            message=self.text(event.message),
            task=self.value(event.task),
            run_id=self.value(event.run_id),
            status=self.value(event.status),
            data=self.value(event.data),
        )
