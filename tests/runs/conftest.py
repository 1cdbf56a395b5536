"""Fixtures for the look-closer commands (`inspect`, `artifacts`, `webhooks replay`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from runs_workspace import WebhookReceiver, Workspace, serve_receiver


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with serve_receiver() as running:
        yield running
