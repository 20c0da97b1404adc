"""Fixtures for the built-in handler tests: clean global state around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmhooks.testing import reset


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    """Start and end each test with no global or scoped handlers."""
    reset()
    yield
    reset()
