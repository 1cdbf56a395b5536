"""Fixtures for the look-closer commands (`inspect`, `artifacts`, `webhooks replay`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from webhook_receiver import WebhookReceiver
from workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path, name="shop", retry_attempts=2, apply_exits=(0, 1))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(down=True) as running:
        yield running
