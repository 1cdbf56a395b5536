"""The receiver runs on the caller's asyncio loop, so its tests are anyio tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
