"""Shared fixtures: clean llmhooks state and environment per test; a real Redis."""

from __future__ import annotations

import os
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


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: the machine's on 127.0.0.1:6379, or one started on a free port."""
    if _port_open("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/15"
        return
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
    deadline = time.monotonic() + 10
    while not _port_open("127.0.0.1", port):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.skip("redis-server did not start")
        time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/15"
    finally:
        proc.terminate()
        proc.wait(5)
