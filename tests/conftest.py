"""Shared fixtures: clean llmhooks state and environment per test; a real Redis."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

import llmhooks.testing


@pytest.fixture(autouse=True)
def _clean_llmhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with no global handlers and no provider keys in the environment."""
    for name in list(os.environ):
        if name.endswith("_API_KEY"):
            monkeypatch.delenv(name, raising=False)
    llmhooks.testing.reset()
    yield
    llmhooks.testing.reset()


def _answers(url: str) -> bool:
    try:
        import redis
    except ImportError:  # pragma: no cover - the redis extra is part of [test]
        return False
    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: ``$REDIS_URL`` if set, else the machine's on 127.0.0.1:6379; started on a
    free port only when neither answers. Shared: tests keep their keys under ``redis_prefix``."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if _answers(url):
        yield url
        return
    if os.environ.get("REDIS_URL"):
        pytest.skip(f"REDIS_URL={url} does not answer")
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("no Redis on 127.0.0.1:6379 and no redis-server to start")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _answers(url):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.skip("redis-server did not start")
        time.sleep(0.05)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test alone on the shared Redis; its keys are deleted afterwards
    (never FLUSHDB: the Redis is shared with other tests and sessions)."""
    import redis

    prefix = f"llmhooks-test:{os.getpid()}:{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()
