"""Fixtures of the Redis tests: a ``redis-server`` of their own (never the shared one)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.handlers.redis._server import RedisServer


def _need_server() -> None:
    if shutil.which("redis-server") is None:  # pragma: no cover - depends on the machine
        pytest.skip("redis-server is not installed (Debian: apt install redis-server)")


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One server for the tests that only read and write (each starts from an empty db)."""
    _need_server()
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(shared_server: RedisServer) -> str:
    """The shared test server's URL, its data flushed (it is ours, not the machine's)."""
    if shared_server.proc is None:
        shared_server.start()
    redis.Redis.from_url(shared_server.url).flushall()
    return shared_server.url


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test alone, with append-only persistence, to stop, kill or pause."""
    _need_server()
    srv = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield srv
    srv.resume()
    srv.stop()
