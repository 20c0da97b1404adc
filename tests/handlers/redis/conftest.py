"""Fixtures of the Redis tests that stop, kill or freeze a server: a ``redis-server`` of their own.

Tests that only read and write use the shared ``redis_url`` (``$REDIS_URL``, else
127.0.0.1:6379) with their keys under ``redis_prefix`` (tests/conftest.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.handlers.redis._server import RedisServer


def _need_server() -> None:
    if shutil.which("redis-server") is None:  # pragma: no cover - depends on the machine
        pytest.skip("redis-server is not installed (Debian: apt install redis-server)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test alone, with append-only persistence, to stop, kill or pause."""
    _need_server()
    srv = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield srv
    srv.resume()
    srv.stop()
