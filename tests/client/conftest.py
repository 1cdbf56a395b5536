"""Fixtures for the client tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhook_receiver import WebhookReceiver


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()
