"""Fixtures for the LLM facade tests: the local wire server and a recording handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.llm._wire import FastWireServer

from llmhooks.testing import RecordingCallbacks


@pytest.fixture(scope="module")
def _wire() -> Iterator[FastWireServer]:
    with FastWireServer() as server:
        yield server


@pytest.fixture
def llm_server(_wire: FastWireServer) -> Iterator[FastWireServer]:
    """The module's wire server, with nothing queued and no requests recorded."""
    _wire.reset()
    yield _wire
    _wire.reset()


@pytest.fixture
def rec() -> RecordingCallbacks:
    """A fresh recording handler."""
    return RecordingCallbacks()
