"""A frozen Redis (SIGSTOP: connections open, nothing answers) costs callers at most the timeout."""

from __future__ import annotations

import asyncio
import threading
import time

from tests.handlers.redis._server import RedisServer

from llmhooks.handlers.redis import RedisConnection, RedisUnavailable


def _timed_sync(conn: RedisConnection) -> float:
    started = time.monotonic()
    try:
        conn.run(lambda r: r.incr("k"))
    except RedisUnavailable:
        pass
    return time.monotonic() - started


def test_once_the_breaker_is_open_one_caller_per_down_for_probes_the_others_fail_at_once(
    server: RedisServer,
) -> None:
    """64 threads on a frozen Redis: only one call per ``down_for`` period waits for the network."""
    conn = RedisConnection(server.url, timeout=0.2, down_for=0.4)
    conn.run(lambda r: r.ping())
    server.pause()
    assert _timed_sync(conn) >= 0.15  # the first failure opens the breaker
    waited: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 2.0

    def caller() -> None:
        while time.monotonic() < stop_at:
            took = _timed_sync(conn)
            if took >= 0.1:
                with lock:
                    waited.append(took)
            time.sleep(0.005)

    threads = [threading.Thread(target=caller) for _ in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    periods = 2.0 / conn.down_for
    assert len(waited) <= periods + 2, f"{len(waited)} calls waited for a frozen Redis in {periods:g} periods"
    server.resume()
    deadline = time.monotonic() + 10
    while True:  # the next probe finds Redis back and closes the breaker
        try:
            conn.run(lambda r: r.ping())
            break
        except RedisUnavailable:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert conn.available and conn.run(lambda r: r.incr("k")) >= 2


async def test_200_tasks_waiting_for_pool_connections_on_a_frozen_redis_wait_at_most_the_timeout(
    server: RedisServer,
) -> None:
    """More tasks than the async pool has connections: none waits past the timeout (checkout included).

    A timeout of a second: scheduling noise on a loaded machine stays well inside the 40 % margin,
    while a wait for a pooled connection before the command's own timeout (1.7 s before) does not."""
    conn = RedisConnection(server.url, timeout=1.0)
    deadline = time.monotonic() + 60
    while True:  # the pool made warm; on a loaded machine 200 first connections can take longer
        try:
            await asyncio.gather(*(conn.arun(lambda r: r.ping()) for _ in range(200)))
            break
        except RedisUnavailable:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
            conn.mark_up()
    server.pause()

    async def one(i: int) -> float:
        await asyncio.sleep(i * 0.005)  # arriving over a second, while others hold the connections
        started = time.monotonic()
        try:
            await conn.arun(lambda r: r.incr("k"))
        except RedisUnavailable:
            pass
        return time.monotonic() - started

    took = await asyncio.gather(*(one(i) for i in range(200)))
    assert max(took) < conn.timeout * 1.4, f"the slowest call took {max(took):.2f}s"
