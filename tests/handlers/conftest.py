"""Fixtures for the built-in handler tests: clean global state around each test, the wire server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.llm._wire import FastWireServer

from llmhooks.testing import reset


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Start and end each test with no global or scoped handlers."""
    reset()
    yield
    reset()


@pytest.fixture(scope="module")
def _wire() -> Iterator[FastWireServer]:
    with FastWireServer() as server:
        yield server


@pytest.fixture
def wire(_wire: FastWireServer) -> Iterator[FastWireServer]:
    """The local OpenAI/Anthropic wire server, with no scripted replies left from another test."""
    _wire.reset()
    yield _wire
    _wire.reset()
