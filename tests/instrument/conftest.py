"""Fixtures for the decorator tests: a recorder installed globally, default redaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmhooks import set_global_callbacks
from llmhooks.core.redaction import reset_redaction
from llmhooks.testing import RecordingCallbacks


@pytest.fixture(autouse=True)
def _default_redaction() -> Iterator[None]:
    reset_redaction()
    yield
    reset_redaction()


@pytest.fixture
def rec() -> RecordingCallbacks:
    """A ``RecordingCallbacks`` set as the only global handler."""
    recorder = RecordingCallbacks()
    set_global_callbacks([recorder])
    return recorder
