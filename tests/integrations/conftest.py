"""Fixtures for the integration tests: the local LLM wire server and a recording handler."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.llm._wire import FastWireServer

from llmhooks.testing import RecordingCallbacks


@pytest.fixture(scope="module")
def _llm_wire() -> Iterator[FastWireServer]:
    with FastWireServer() as server:
        yield server


@pytest.fixture
def llm_server(_llm_wire: FastWireServer) -> Iterator[FastWireServer]:
    """A wire server speaking the OpenAI and Anthropic APIs, nothing queued, no requests recorded."""
    _llm_wire.reset()
    yield _llm_wire
    _llm_wire.reset()


@pytest.fixture
def rec() -> RecordingCallbacks:
    """A fresh recording handler."""
    return RecordingCallbacks()
