"""Fixtures for the fake LLM wire server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .llm_wire import LLMWireServer


@pytest.fixture
def llm_server() -> Iterator[LLMWireServer]:
    """A started ``LLMWireServer`` on 127.0.0.1, stopped after the test."""
    with LLMWireServer() as server:
        yield server
